// Parity with Python: the export named by ESCO_JS_EXPORT, embedded and searched in Node.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkParity, loadExport } from '../src/index.js';

const MIN_COSINE = 0.999;
const MIN_AGREEMENT = 0.95;

test('Node gives the vectors and the top-5 concepts Python gave', async () => {
  const dir = process.env.ESCO_JS_EXPORT;
  assert.ok(dir, 'set ESCO_JS_EXPORT to a folder written by `esco-skill-extractor export-js OUT_DIR`');
  const esco = await loadExport(dir, { verify: true });
  const report = await checkParity(esco);
  const { model, taxonomy, vectors } = esco.manifest;
  console.log(
    `parity: ${model.id} (${model.pooling} pooling, ${vectors.dtype} vectors), ESCO ${taxonomy.version}: ` +
      `${report.texts} texts, min cosine ${report.minCosine.toFixed(7)}, ` +
      `identical top-5 ${(100 * report.agreement).toFixed(1)}% ` +
      `(${Object.entries(report.agreementByKind)
        .map(([kind, share]) => `${kind} ${(100 * share).toFixed(1)}%`)
        .join(', ')})`,
  );
  for (const { text, cosine } of report.worst) {
    console.log(`  lowest cosine ${cosine.toFixed(7)} (1 - cosine = ${(1 - cosine).toExponential(1)}): ${JSON.stringify(text.slice(0, 60))}`);
  }
  for (const d of report.disagreements.slice(0, 5)) {
    console.log(`  top-5 differs (${d.kind}) for ${JSON.stringify(d.text.slice(0, 60))}`);
  }
  assert.ok(report.texts >= 20, `only ${report.texts} parity texts`);
  assert.ok(report.minCosine >= MIN_COSINE, `min cosine ${report.minCosine} < ${MIN_COSINE}`);
  assert.ok(report.agreement >= MIN_AGREEMENT, `identical top-5 for ${report.agreement} < ${MIN_AGREEMENT}`);
});
