"""``export-js``: a folder that the JavaScript client (js/) loads, and its parity check data."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ..embedding import resolve_model
from .base import AppContext, echo_json, pass_app

__all__ = ["export_js_command"]


@click.command("export-js")
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--model", "model", help="The model to export (default: the group's --model).")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float16",
    show_default=True,
    help="Float type of the exported concept vectors (float16: half the size, the library's default).",
)
@click.option("--overwrite", is_flag=True, help="Replace an export already in OUT_DIR.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: check that OUT_DIR is a complete export of this model and taxonomy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def export_js_command(
    app: AppContext,
    out_dir: Path,
    model: str | None,
    dtype: Literal["float32", "float16"],
    overwrite: bool,
    check: bool,
    as_json: bool,
) -> None:
    """Export the model (ONNX), the ESCO concept vectors and a parity set for Node.js.

    OUT_DIR is loaded by the JavaScript client in js/ (transformers.js, offline); run
    `npm test` there with ESCO_JS_EXPORT=OUT_DIR to check that Node gives the same vectors
    and matches as Python.
    """
    from ..export import read_export, write_export

    name = model or app.model
    if check:
        location = resolve_model(name).location
        info = read_export(
            out_dir,
            model_id=location.model_id,
            model_revision=location.revision,
            taxonomy_version=app.taxonomy.version,
            taxonomy_hash=app.taxonomy.content_hash,
            full=True,
        )
        if as_json:
            echo_json({"path": str(info.path), "ok": True, **info.manifest["model"]})
        else:
            click.echo(f"{info.path}: a complete export of {info.model_id} for ESCO {info.taxonomy_version}")
        return
    summary = write_export(
        out_dir,
        taxonomy=app.taxonomy,
        model=name,
        device=app.device,
        dtype=dtype,
        cache_dir=app.cache_dir,
        overwrite=overwrite,
        on_phase=lambda phase: click.echo(phase + " ...", err=True),
    )
    if as_json:
        echo_json(
            {
                "path": str(summary.path),
                "model": summary.model_id,
                "taxonomy_version": summary.taxonomy_version,
                "dtype": summary.dtype,
                "rows": summary.rows,
                "parity_texts": summary.parity_texts,
                "onnx_python_min_cosine": summary.onnx_min_cosine,
                "bytes": summary.bytes,
            }
        )
        return
    click.echo(f"Exported {summary.model_id} for ESCO {summary.taxonomy_version} to {summary.path}")
    click.echo(
        f"  vectors ({summary.dtype}): "
        + ", ".join(f"{kind} {rows:,} rows" for kind, rows in summary.rows.items())
        + f"; {summary.bytes / 1e6:,.1f} MB in all"
    )
    click.echo(
        f"  parity set: {summary.parity_texts} texts; ONNX in Python vs torch: "
        f"min cosine {summary.onnx_min_cosine:.6f}"
    )
    click.echo(f"  check it in Node: cd js && npm ci && ESCO_JS_EXPORT={summary.path} npm test")
