// Bad export folders: clear errors before any model loads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { ExportError, FORMAT, FORMAT_VERSION, checkParity, decodeVectors, loadExport, readManifest } from '../src/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'esco-js-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder with a manifest listing one small file; `change` edits the manifest first. */
function folder(name, change = (m) => m, { writeFile = true } = {}) {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'vectors'), { recursive: true });
  if (writeFile) writeFileSync(path.join(dir, 'vectors/skills.f32'), Buffer.alloc(16));
  const manifest = {
    format: FORMAT,
    format_version: FORMAT_VERSION,
    model: { id: 'all-MiniLM-L6-v2', dim: 4, pooling: 'mean', normalize: true, folder: 'model' },
    taxonomy: { version: '1.2.0', hash: 'abc', language: 'en' },
    recipe: { name: 'labels+blob', version: '1' },
    vectors: { dtype: 'float32', index: 'vectors/index.json', tables: {} },
    files: { 'vectors/skills.f32': { bytes: 16, sha256: '0'.repeat(64) } },
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(change(manifest)));
  return dir;
}

test('a sound manifest reads', () => {
  assert.equal(readManifest(folder('sound')).model.id, 'all-MiniLM-L6-v2');
});

test('a folder without a manifest is not an export', async () => {
  const dir = path.join(root, 'empty');
  mkdirSync(dir);
  await assert.rejects(loadExport(dir), (e) => e instanceof ExportError && /manifest.json is missing/.test(e.message));
  assert.throws(() => readManifest(path.join(root, 'nowhere')), /is not a folder/);
});

test('a newer format is refused with advice', () => {
  const dir = folder('newer', (m) => ({ ...m, format_version: FORMAT_VERSION + 1 }));
  assert.throws(() => readManifest(dir), (e) => e instanceof ExportError && /newer than this client reads.*update the JavaScript client/.test(e.message));
});

test('another format, or a broken manifest, is refused', () => {
  assert.throws(() => readManifest(folder('other', (m) => ({ ...m, format: 'something-else' }))), /not the manifest of an ESCO export/);
  const dir = folder('broken');
  writeFileSync(path.join(dir, 'manifest.json'), '{"format": ');
  assert.throws(() => readManifest(dir), /not valid JSON/);
  assert.throws(() => readManifest(folder('no-files', (m) => ({ ...m, files: undefined }))), /lacks its 'files' section/);
});

test('missing and changed files are named', () => {
  assert.throws(() => readManifest(folder('missing', (m) => m, { writeFile: false })), /incomplete: vectors\/skills.f32 is missing/);
  const truncated = folder('truncated');
  writeFileSync(path.join(truncated, 'vectors/skills.f32'), Buffer.alloc(8));
  assert.throws(() => readManifest(truncated), /has 8 bytes where the manifest says 16/);
  assert.throws(() => readManifest(folder('altered'), { verify: true }), /fails its sha256 check/);
  const outside = folder('outside', (m) => ({ ...m, files: { '../x': { bytes: 1 } } }));
  assert.throws(() => readManifest(outside), /outside the folder/);
});

test('an export for another model or taxonomy is refused when the caller says what it expects', () => {
  const dir = folder('identity');
  assert.throws(() => readManifest(dir, { expect: { modelId: 'BAAI/bge-m3' } }), /exported for model "all-MiniLM-L6-v2", not "BAAI\/bge-m3"/);
  assert.throws(() => readManifest(dir, { expect: { taxonomyVersion: '1.1.1' } }), /ESCO version "1.2.0", not "1.1.1"/);
  assert.throws(() => readManifest(dir, { expect: { taxonomyHash: 'def' } }), /taxonomy with hash "abc", not "def"/);
  readManifest(dir, { expect: { modelId: 'all-MiniLM-L6-v2', taxonomyVersion: '1.2.0', taxonomyHash: 'abc' } });
});

test('float16 and float32 little-endian bytes decode', () => {
  const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x38]); // 1, -2, 0, 0.5
  assert.deepEqual(Array.from(decodeVectors(half, 'float16')), [1, -2, 0, 0.5]);
  const single = Buffer.alloc(8);
  single.writeFloatLE(0.25, 0);
  single.writeFloatLE(-3, 4);
  assert.deepEqual(Array.from(decodeVectors(single, 'float32')), [0.25, -3]);
  assert.throws(() => decodeVectors(half, 'int8'), ExportError);
});

test('a parity set from another export is refused', async () => {
  const dir = folder('parity');
  const manifest = readManifest(dir);
  const esco = /** @type {any} */ ({ dir, manifest, tables: {}, dim: 4 });
  await assert.rejects(checkParity(esco), /parity.json is missing/);
  writeFileSync(path.join(dir, 'parity.json'), JSON.stringify({ format_version: 1, model_id: 'BAAI/bge-m3', taxonomy_hash: 'abc', texts: [] }));
  await assert.rejects(checkParity(esco), (e) => e instanceof ExportError && /made for BAAI\/bge-m3.*but the export holds all-MiniLM-L6-v2/.test(e.message));
  writeFileSync(path.join(dir, 'parity.json'), JSON.stringify({ format_version: FORMAT_VERSION + 1 }));
  await assert.rejects(checkParity(esco), /newer than this client reads/);
});
