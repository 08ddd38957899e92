// ONNX model files on disk: which files are ONNX (checkpoint.ts reads
// either format through one loadCheckpoint), and reading one into a
// Handscan model (src/io/onnx-import.ts).
import { open, readFile } from 'node:fs/promises';
import { importOnnxGraph, type ImportedGraph } from './onnx-import.ts';

/**
 * ONNX has no signature, but a ModelProto starts with ir_version: field 1,
 * a varint (tag 0x08); an HDF5 file starts with 0x89 ('\x89HDF').
 */
const IR_VERSION_TAG = 0x08;

/** A `.onnx` file, or one that starts as a ModelProto does. */
export async function isOnnxFile(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.onnx')) return true;
  const head = new Uint8Array(1);
  try {
    const file = await open(path, 'r');
    try {
      await file.read(head, 0, head.length, 0);
    } finally {
      await file.close();
    }
  } catch {
    return false;
  }
  return head[0] === IR_VERSION_TAG;
}

/** Reads an ONNX model as a Handscan graph and weights; errors are one line naming the file. */
export async function readOnnxFile(path: string): Promise<ImportedGraph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read the ONNX model (${code ?? (e as Error).message})`}`);
  }
  try {
    return importOnnxGraph(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
