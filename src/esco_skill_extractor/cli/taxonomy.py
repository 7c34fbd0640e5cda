"""``taxonomy show`` and ``taxonomy search``."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConceptNotFound
from ..taxonomy import Occupation, Skill, Taxonomy
from ..taxonomy.index import LabelIndex, normalize
from .base import AppContext, echo_json, pass_app

__all__ = ["format_concept", "taxonomy_group"]


@click.group("taxonomy")
def taxonomy_group() -> None:
    """Look up ESCO concepts."""


def _find(taxonomy: Taxonomy, ref: str) -> Skill | Occupation:
    if ref.startswith("http://") or ref.startswith("https://"):
        concept = taxonomy.concept(ref.strip())
        if not isinstance(concept, Skill | Occupation):
            raise ConceptNotFound(f"{ref} is not a skill or an occupation")
        return concept
    wanted = normalize(ref)
    for kind in ("skill", "occupation"):
        for hit in LabelIndex(taxonomy, kind).search(ref, limit=1):
            if normalize(hit.label) == wanted:
                return taxonomy.concept(hit.uri)  # type: ignore[return-value]
    raise ConceptNotFound(
        f"no skill or occupation is labelled {ref!r}; try: esco-skill-extractor taxonomy search {ref!r}"
    )


def format_concept(taxonomy: Taxonomy, concept: Skill | Occupation, language: str) -> dict[str, Any]:
    """A JSON-ready view of one concept with its relations (labels in ``language``)."""
    out: dict[str, Any] = {
        "uri": concept.uri,
        "kind": "skill" if isinstance(concept, Skill) else "occupation",
        "preferred_label": concept.label(language),
        "alt_labels": list(concept.labels(language)),
        "description": concept.describe(language),
        "languages": sorted({taxonomy.language, *concept.translations}),
    }
    if isinstance(concept, Skill):
        occupations = taxonomy.occupations_of(concept.uri)
        out |= {
            "skill_type": concept.skill_type,
            "reuse_level": concept.reuse_level,
            "collections": list(concept.collections),
            "skill_groups": [
                {"uri": g, "label": taxonomy.skill_groups[g].label(language)}
                for g in concept.skill_groups
                if g in taxonomy.skill_groups
            ],
            "occupations": {
                rel: sorted(
                    taxonomy.occupations[u].label(language)
                    for u, r in occupations.items()
                    if r == rel and u in taxonomy.occupations
                )
                for rel in ("essential", "optional")
            },
        }
    else:
        group = taxonomy.isco_group(concept)
        out |= {
            "code": concept.code,
            "isco_group": {"code": concept.isco_code, "label": group.label(language) if group else ""},
            "skills": {
                rel: sorted(
                    taxonomy.skills[u].label(language)
                    for u, r in taxonomy.skills_of(concept.uri).items()
                    if r == rel and u in taxonomy.skills
                )
                for rel in ("essential", "optional")
            },
        }
    return out


def _print_concept(view: dict[str, Any]) -> None:
    click.secho(f"{view['preferred_label']}  ({view['kind']})", bold=True)
    click.echo(view["uri"])
    if view["alt_labels"]:
        click.echo("Also: " + "; ".join(view["alt_labels"]))
    if view["description"]:
        click.echo()
        click.echo(view["description"])
    click.echo()
    if view["kind"] == "skill":
        click.echo(f"Type: {view['skill_type'] or '-'}   Reuse: {view['reuse_level'] or '-'}")
        if view["collections"]:
            click.echo("Collections: " + ", ".join(view["collections"]))
        for group in view["skill_groups"]:
            click.echo(f"Group: {group['label']}")
        for rel, labels in view["occupations"].items():
            click.echo(
                f"{rel.capitalize()} for {len(labels)} occupations"
                + (": " + "; ".join(labels[:10]) + (" ..." if len(labels) > 10 else "") if labels else "")
            )
    else:
        click.echo(f"ISCO-08: {view['isco_group']['code']} {view['isco_group']['label']}")
        for rel, labels in view["skills"].items():
            click.echo(
                f"{rel.capitalize()} skills ({len(labels)}): "
                + "; ".join(labels[:15])
                + (" ..." if len(labels) > 15 else "")
            )


@taxonomy_group.command("show")
@click.argument("ref")
@click.option("--lang", "language", default="en", show_default=True, help="Label language.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def show(app: AppContext, ref: str, language: str, as_json: bool) -> None:
    """Show a skill or occupation by URI or by exact label."""
    taxonomy = app.taxonomy
    view = format_concept(taxonomy, _find(taxonomy, ref), language)
    echo_json(view) if as_json else _print_concept(view)


@taxonomy_group.command("search")
@click.argument("text")
@click.option("--kind", type=click.Choice(["skill", "occupation"]), default="skill", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--lang", "language", default="en", show_default=True, help="Label language.")
@click.option(
    "--semantic",
    is_flag=True,
    help="Also search by meaning with the embedding model (loads the model and its embedding cache).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def search(
    app: AppContext, text: str, kind: str, limit: int, language: str, semantic: bool, as_json: bool
) -> None:
    """Search labels and alternative labels (case- and accent-insensitive), or by meaning."""
    taxonomy = app.taxonomy
    concepts = taxonomy.skills if kind == "skill" else taxonomy.occupations
    if semantic:
        from .base import make_extractor

        found = make_extractor(app).search(
            text,
            kind=kind,  # type: ignore[arg-type]
            limit=limit,
            language=language,
        )
        rows = [
            {"uri": h.uri, "label": h.label, "matched": h.matched, "score": h.score, "via": h.via}
            for h in found
        ]
    else:
        hits = LabelIndex(taxonomy, kind).search(text, limit=limit)  # type: ignore[arg-type]
        rows = [
            {
                "uri": h.uri,
                "label": concepts[h.uri].label(language),
                "matched": h.label,
                "score": h.score,
                "via": "label",
            }
            for h in hits
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No {kind} matches {text!r}.")
    for row in rows:
        via = "" if row["matched"] in (row["label"], text) else f"  (via {row['matched']!r})"
        click.echo(f"{row['score']:.2f}  {row['label']}{via}\n      {row['uri']}")
