// @ts-check
/**
 * ESCO Skill Extractor for Node.js: load a folder written by
 * `esco-skill-extractor export-js OUT_DIR`, embed texts with transformers.js (ONNX Runtime,
 * offline) exactly as the Python library does, and search ESCO skills and occupations by
 * cosine over the exported concept vectors.
 *
 * @module esco-skill-extractor
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';

import { AutoModel, AutoTokenizer, Tensor, env } from '@huggingface/transformers';

/** The newest export format this client reads. */
export const FORMAT_VERSION = 1;
export const FORMAT = 'esco-skill-extractor/js-export';

/** @typedef {'skills' | 'occupations'} Kind */

/**
 * @typedef {object} Match
 * @property {string} uri The ESCO concept URI.
 * @property {string} label Its preferred label (in the language asked for, else the taxonomy's).
 * @property {number} score Cosine of the text and the concept's best view.
 */

/**
 * @typedef {object} Expectation
 * @property {string} [modelId] The model the export must have been made with.
 * @property {string} [taxonomyVersion] The ESCO version it must have been made from.
 * @property {string} [taxonomyHash] The taxonomy content hash it must have been made from.
 */

/**
 * @typedef {object} LoadOptions
 * @property {Expectation} [expect] Refuse an export made for another model or taxonomy.
 * @property {boolean} [verify] Also check every file's sha256 (reads everything; slower).
 */

/**
 * @typedef {object} SearchOptions
 * @property {Kind} [kind] `'skills'` (default) or `'occupations'`.
 * @property {number} [topK] How many concepts to return (default 10).
 * @property {string} [language] The language of the returned labels (default: the taxonomy's).
 */

/**
 * @typedef {object} Table
 * @property {Float32Array} vectors rows × dim, L2-normalised.
 * @property {Int32Array} owners The concept (index into `uris`) of each row.
 * @property {Uint8Array} views 0 for a label view, 1 for the blob view.
 * @property {string[]} uris The concepts.
 * @property {Record<string, (string | null)[]>} labels Preferred labels per language.
 */

/** An export folder that cannot be used: missing or changed files, a newer format, another model or taxonomy. */
export class ExportError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'ExportError';
  }
}

/**
 * @param {string} file
 * @returns {any}
 */
function readJson(file) {
  let text;
  try {
    text = readFileSync(file, 'utf-8');
  } catch (error) {
    throw new ExportError(`${file} cannot be read: ${/** @type {Error} */ (error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ExportError(`${file} is not valid JSON: ${/** @type {Error} */ (error).message}`);
  }
}

/**
 * Read and check an export's manifest: format, version, files, and (optionally) identity.
 *
 * @param {string} dir The export folder.
 * @param {LoadOptions} [options]
 * @returns {any} The manifest.
 * @throws {ExportError}
 */
export function readManifest(dir, { expect = {}, verify = false } = {}) {
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ExportError(`${dir} is not a folder`);
  }
  if (!existsSync(file)) {
    throw new ExportError(`${dir} is not an ESCO export: manifest.json is missing (run esco-skill-extractor export-js)`);
  }
  const manifest = readJson(file);
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== FORMAT) {
    throw new ExportError(`${file} is not the manifest of an ESCO export (format '${FORMAT}')`);
  }
  const version = manifest.format_version;
  if (!Number.isInteger(version) || version < 1) {
    throw new ExportError(`${file} has no valid format_version`);
  }
  if (version > FORMAT_VERSION) {
    throw new ExportError(
      `${dir} has export format ${version}, newer than this client reads (${FORMAT_VERSION}); ` +
        'update the JavaScript client, or export again with a matching esco-skill-extractor',
    );
  }
  for (const section of ['model', 'taxonomy', 'recipe', 'vectors', 'files']) {
    if (manifest[section] === null || typeof manifest[section] !== 'object') {
      throw new ExportError(`${file} lacks its '${section}' section`);
    }
  }
  const mismatch = (/** @type {string} */ what, /** @type {unknown} */ found, /** @type {unknown} */ wanted) =>
    new ExportError(`${dir} was exported for ${what} ${JSON.stringify(found)}, not ${JSON.stringify(wanted)}; export again`);
  if (expect.modelId !== undefined && manifest.model.id !== expect.modelId) {
    throw mismatch('model', manifest.model.id, expect.modelId);
  }
  if (expect.taxonomyVersion !== undefined && manifest.taxonomy.version !== expect.taxonomyVersion) {
    throw mismatch('ESCO version', manifest.taxonomy.version, expect.taxonomyVersion);
  }
  if (expect.taxonomyHash !== undefined && manifest.taxonomy.hash !== expect.taxonomyHash) {
    throw mismatch('the taxonomy with hash', manifest.taxonomy.hash, expect.taxonomyHash);
  }
  for (const [name, entry] of Object.entries(manifest.files)) {
    const target = path.resolve(dir, name);
    if (!target.startsWith(path.resolve(dir) + path.sep)) {
      throw new ExportError(`${file} lists a file outside the folder: ${name}`);
    }
    if (!existsSync(target)) {
      throw new ExportError(`${dir} is incomplete: ${name} is missing (export again)`);
    }
    const size = statSync(target).size;
    if (size !== entry.bytes) {
      throw new ExportError(`${target} has ${size} bytes where the manifest says ${entry.bytes} (changed or truncated; export again)`);
    }
    if (verify && createHash('sha256').update(readFileSync(target)).digest('hex') !== entry.sha256) {
      throw new ExportError(`${target} fails its sha256 check (changed since the export; export again)`);
    }
  }
  return manifest;
}

/** @type {Float32Array | null} */
let halfTable = null;

/**
 * IEEE 754 half-precision bits to float32, for every one of the 65,536 values.
 * @returns {Float32Array}
 */
function halfToFloatTable() {
  if (halfTable !== null) return halfTable;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) table[bits] = fraction ? NaN : sign * Infinity;
    else table[bits] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  halfTable = table;
  return table;
}

/**
 * Little-endian float16 or float32 bytes to a Float32Array.
 * @param {Buffer} bytes
 * @param {string} dtype
 * @returns {Float32Array}
 */
export function decodeVectors(bytes, dtype) {
  const little = endianness() === 'LE';
  if (dtype === 'float32') {
    const out = new Float32Array(bytes.length / 4);
    if (little && bytes.byteOffset % 4 === 0) {
      out.set(new Float32Array(bytes.buffer, bytes.byteOffset, out.length));
    } else {
      for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    }
    return out;
  }
  if (dtype === 'float16') {
    const table = halfToFloatTable();
    const out = new Float32Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = table[bytes.readUInt16LE(i * 2)];
    return out;
  }
  throw new ExportError(`unknown vector dtype '${dtype}' (float16 or float32)`);
}

/**
 * Load an export folder: the model (offline), the concept vectors and their index.
 *
 * @param {string} dir The folder written by `esco-skill-extractor export-js`.
 * @param {LoadOptions} [options]
 * @returns {Promise<EscoSearch>}
 * @throws {ExportError} The folder is not a complete export, its format is newer than this
 *   client reads, or it was made for another model or taxonomy than `expect` says.
 *
 * @example
 * const esco = await loadExport('/data/esco-js');
 * const matches = await esco.search('We need a Python developer', { kind: 'skills', topK: 5 });
 */
export async function loadExport(dir, options = {}) {
  const root = path.resolve(dir);
  const manifest = readManifest(root, options);
  const index = readJson(path.join(root, manifest.vectors.index));
  /** @type {Record<string, Table>} */
  const tables = {};
  for (const [kind, spec] of Object.entries(manifest.vectors.tables)) {
    const part = index[kind];
    if (!part || !Array.isArray(part.uris) || !Array.isArray(part.owners)) {
      throw new ExportError(`${manifest.vectors.index} has no index of ${kind}`);
    }
    const vectors = decodeVectors(readFileSync(path.join(root, spec.file)), manifest.vectors.dtype);
    if (vectors.length !== spec.rows * manifest.model.dim || part.owners.length !== spec.rows) {
      throw new ExportError(
        `${spec.file} holds ${vectors.length / manifest.model.dim} rows of ${manifest.model.dim} dims ` +
          `and its index ${part.owners.length}, where the manifest says ${spec.rows} (export again)`,
      );
    }
    tables[kind] = {
      vectors,
      owners: Int32Array.from(part.owners),
      views: Uint8Array.from(part.views),
      uris: part.uris,
      labels: part.labels,
    };
  }
  const { model } = manifest;
  if (!['mean', 'cls'].includes(model.pooling)) {
    throw new ExportError(`this client pools by mean or cls, not '${model.pooling}'`);
  }
  // Everything comes from the folder: never the Hub, never a cache elsewhere.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = root + path.sep;
  let tokenizer;
  let encoder;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(model.folder, { local_files_only: true });
    encoder = await AutoModel.from_pretrained(model.folder, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
  } catch (error) {
    throw new ExportError(`the model in ${path.join(root, model.folder)} cannot be loaded: ${/** @type {Error} */ (error).message}`);
  }
  return new EscoSearch(root, manifest, tables, tokenizer, encoder);
}

/** Embeds texts and searches ESCO concepts, as the Python library does. Build one with {@link loadExport}. */
export class EscoSearch {
  /**
   * @param {string} dir
   * @param {any} manifest
   * @param {Record<string, Table>} tables
   * @param {any} tokenizer A transformers.js tokenizer.
   * @param {any} encoder A transformers.js model whose graph returns token vectors.
   */
  constructor(dir, manifest, tables, tokenizer, encoder) {
    /** The export folder. */
    this.dir = dir;
    /** The parsed manifest.json. */
    this.manifest = manifest;
    /** @type {Record<string, Table>} */
    this.tables = tables;
    this.tokenizer = tokenizer;
    this.encoder = encoder;
    /** The token limit, special tokens included (as in Python). */
    this.maxLength = /** @type {number} */ (manifest.model.max_seq_length);
    /** Vector dimensions. */
    this.dim = /** @type {number} */ (manifest.model.dim);
  }

  /**
   * Token ids of one text, truncated as the Python tokenizers do: the text's tokens are cut
   * so that they and the special tokens fit the limit. (transformers.js cuts the finished
   * sequence instead, which drops the closing special token of a long text.)
   *
   * @param {string} text
   * @returns {number[]}
   */
  tokenIds(text) {
    const full = /** @type {number[]} */ (this.tokenizer.encode(text));
    if (full.length <= this.maxLength) return full;
    const bare = /** @type {number[]} */ (this.tokenizer.encode(text, { add_special_tokens: false }));
    const specials = full.length - bare.length;
    let start = 0;
    while (start <= specials && !bare.every((id, i) => full[start + i] === id)) start++;
    if (start > specials) throw new Error('cannot locate the text between its special tokens');
    const keep = Math.max(0, this.maxLength - specials);
    return [...full.slice(0, start), ...bare.slice(0, keep), ...full.slice(start + bare.length)];
  }

  /**
   * Embed texts as queries: the model's query prompt, its pooling, L2 normalisation.
   *
   * @param {string[]} texts
   * @param {{batchSize?: number}} [options]
   * @returns {Promise<Float32Array[]>} One unit vector per text.
   */
  async embed(texts, { batchSize = 32 } = {}) {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new TypeError('embed() takes an array of strings');
    }
    const { model } = this.manifest;
    const prompt = model.query_prompt || '';
    const ids = texts.map((t) => this.tokenIds(prompt + t));
    // Longest first, as Python batches: little padding.
    const order = Array.from(ids.keys()).sort((a, b) => ids[b].length - ids[a].length || a - b);
    /** @type {Float32Array[]} */
    const out = new Array(texts.length);
    const dim = this.dim;
    const pad = BigInt(model.pad_token_id ?? 0);
    for (let start = 0; start < order.length; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const width = Math.max(...rows.map((r) => ids[r].length));
      const inputIds = new BigInt64Array(rows.length * width).fill(pad);
      const mask = new BigInt64Array(rows.length * width);
      rows.forEach((r, i) => {
        ids[r].forEach((id, j) => {
          inputIds[i * width + j] = BigInt(id);
          mask[i * width + j] = 1n;
        });
      });
      const outputs = await this.encoder({
        input_ids: new Tensor('int64', inputIds, [rows.length, width]),
        attention_mask: new Tensor('int64', mask, [rows.length, width]),
      });
      const tokens = /** @type {Float32Array} */ ((outputs.token_embeddings ?? outputs.last_hidden_state).data);
      rows.forEach((r, i) => {
        const vector = new Float64Array(dim);
        const base = i * width * dim;
        if (model.pooling === 'cls') {
          for (let k = 0; k < dim; k++) vector[k] = tokens[base + k];
        } else {
          const count = ids[r].length;
          for (let j = 0; j < count; j++) {
            for (let k = 0; k < dim; k++) vector[k] += tokens[base + j * dim + k];
          }
          for (let k = 0; k < dim; k++) vector[k] /= Math.max(count, 1e-9);
        }
        let norm = 0;
        for (let k = 0; k < dim; k++) norm += vector[k] * vector[k];
        norm = model.normalize ? Math.max(Math.sqrt(norm), 1e-12) : 1;
        out[r] = Float32Array.from(vector, (x) => x / norm);
      });
    }
    return out;
  }

  /**
   * The best concepts for a vector: a concept scores the best cosine of its views.
   *
   * @param {Float32Array} vector A unit vector from {@link embed}.
   * @param {SearchOptions} [options]
   * @returns {Match[]} Best first; equal scores keep the export's concept order.
   */
  searchVector(vector, { kind = 'skills', topK = 10, language } = {}) {
    const table = this.tables[kind];
    if (table === undefined) {
      throw new RangeError(`kind must be one of ${Object.keys(this.tables).join(', ')}, not '${kind}'`);
    }
    if (vector.length !== this.dim) {
      throw new RangeError(`the vector has ${vector.length} dims; this export has ${this.dim}`);
    }
    const { vectors, owners, uris } = table;
    const dim = this.dim;
    const best = new Float64Array(uris.length).fill(-Infinity);
    for (let row = 0, offset = 0; row < owners.length; row++, offset += dim) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += vector[j] * vectors[offset + j];
      // Python scores in float32: round the same way before comparing.
      const score = Math.fround(dot);
      if (score > best[owners[row]]) best[owners[row]] = score;
    }
    const order = Array.from(best.keys()).sort((a, b) => best[b] - best[a] || a - b);
    const labels = table.labels[language ?? this.manifest.taxonomy.language] ?? table.labels[this.manifest.taxonomy.language];
    return order.slice(0, Math.max(0, topK)).map((i) => ({
      uri: uris[i],
      label: labels?.[i] ?? table.labels[this.manifest.taxonomy.language]?.[i] ?? '',
      score: best[i],
    }));
  }

  /**
   * Embed one text and return its best ESCO concepts.
   *
   * @param {string} text
   * @param {SearchOptions} [options]
   * @returns {Promise<Match[]>}
   *
   * @example
   * await esco.search('Wir suchen einen Koch', { kind: 'occupations', topK: 3 });
   */
  async search(text, options = {}) {
    const [vector] = await this.embed([text]);
    return this.searchVector(vector, options);
  }
}

/**
 * @typedef {object} ParityReport
 * @property {number} texts How many texts were compared.
 * @property {number} minCosine The lowest cosine between a Node vector and its Python vector.
 * @property {number} agreement Share of texts whose top-k skills and top-k occupations are
 *   the same concepts in the same order as in Python.
 * @property {Record<string, number>} agreementByKind The same share per kind.
 * @property {{text: string, cosine: number}[]} worst The texts with the lowest cosines.
 * @property {{text: string, kind: string, python: string[], node: string[]}[]} disagreements
 */

/**
 * Compare this runtime with Python on the export's parity set (parity.json).
 *
 * @param {EscoSearch} esco
 * @returns {Promise<ParityReport>}
 * @throws {ExportError} parity.json is missing, or belongs to another export.
 */
export async function checkParity(esco) {
  const file = path.join(esco.dir, esco.manifest.parity?.file ?? 'parity.json');
  if (!existsSync(file)) throw new ExportError(`${file} is missing (export again)`);
  const parity = readJson(file);
  if (parity.format_version > FORMAT_VERSION) {
    throw new ExportError(`${file} has format ${parity.format_version}, newer than this client reads (${FORMAT_VERSION})`);
  }
  if (parity.model_id !== esco.manifest.model.id || parity.taxonomy_hash !== esco.manifest.taxonomy.hash) {
    throw new ExportError(
      `${file} was made for ${parity.model_id} and taxonomy ${parity.taxonomy_hash}, ` +
        `but the export holds ${esco.manifest.model.id} and ${esco.manifest.taxonomy.hash} (export again)`,
    );
  }
  /** @type {{text: string, vector: number[], top: Record<string, [string, number][]>}[]} */
  const items = parity.texts;
  const vectors = await esco.embed(items.map((item) => item.text));
  const kinds = Object.keys(esco.tables);
  /** @type {Record<string, number>} */
  const agreeing = Object.fromEntries(kinds.map((k) => [k, 0]));
  let agreeingTexts = 0;
  let minCosine = Infinity;
  /** @type {{text: string, cosine: number}[]} */
  const cosines = [];
  /** @type {ParityReport['disagreements']} */
  const disagreements = [];
  items.forEach((item, i) => {
    let dot = 0;
    let norm = 0;
    for (let j = 0; j < esco.dim; j++) {
      dot += vectors[i][j] * item.vector[j];
      norm += item.vector[j] * item.vector[j];
    }
    const cosine = dot / Math.sqrt(norm);
    cosines.push({ text: item.text, cosine });
    minCosine = Math.min(minCosine, cosine);
    let all = true;
    for (const kind of kinds) {
      const python = item.top[kind].map(([uri]) => uri);
      const node = esco.searchVector(vectors[i], { kind: /** @type {Kind} */ (kind), topK: parity.top_k }).map((m) => m.uri);
      if (python.length === node.length && python.every((uri, k) => uri === node[k])) agreeing[kind] += 1;
      else {
        all = false;
        disagreements.push({ text: item.text, kind, python, node });
      }
    }
    if (all) agreeingTexts += 1;
  });
  cosines.sort((a, b) => a.cosine - b.cosine);
  return {
    texts: items.length,
    minCosine,
    agreement: agreeingTexts / items.length,
    agreementByKind: Object.fromEntries(kinds.map((k) => [k, agreeing[k] / items.length])),
    worst: cosines.slice(0, 3),
    disagreements,
  };
}
