// Result tables as Parquet (zstd, one row group): plain columns of numbers and strings, written atomically, so
// pandas/pyarrow/polars read a run's tables directly.

import { readFile } from "node:fs/promises";
import { Float64, Int32, tableFromArrays, tableFromIPC, tableToIPC, Utf8, vectorFromArray, Table, type Vector } from "apache-arrow";
import { Compression, readParquet, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";
import { writeFileAtomic } from "./atomic-write.js";

/** A column: integers (int32), floats (float64, null allowed) or strings. */
export type ColumnValues = Int32Array | Float64Array | ReadonlyArray<number | null> | ReadonlyArray<string>;

export interface ColumnSpec {
  name: string;
  type: "int32" | "float64" | "string";
  values: ColumnValues;
}

function vectorOf(column: ColumnSpec): Vector {
  switch (column.type) {
    case "int32":
      return vectorFromArray(Array.from(column.values as ArrayLike<number>), new Int32());
    case "float64":
      return vectorFromArray(Array.from(column.values as ArrayLike<number | null>), new Float64());
    case "string":
      return vectorFromArray(Array.from(column.values as ArrayLike<string>), new Utf8());
  }
}

/** Writes the columns (all of one length) as a Parquet file with key-value metadata; atomic. */
export async function writeParquetTable(file: string, columns: readonly ColumnSpec[], metadata: Record<string, string> = {}): Promise<void> {
  const rows = columns[0]?.values.length ?? 0;
  for (const column of columns) {
    if (column.values.length !== rows) throw new RangeError(`${file}: column "${column.name}" has ${column.values.length} values, "${columns[0].name}" has ${rows}`);
  }
  const table = columns.length === 0 ? tableFromArrays({}) : new Table(Object.fromEntries(columns.map((column) => [column.name, vectorOf(column)])));
  const builder = new WriterPropertiesBuilder().setCompression(Compression.ZSTD);
  const properties = (Object.keys(metadata).length > 0 ? builder.setKeyValueMetadata(new Map(Object.entries(metadata))) : builder).build();
  await writeFileAtomic(file, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, "stream")), properties));
}

/** Reads a Parquet file back as an Arrow table (tests, report code). */
export async function readParquetTable(file: string): Promise<Table> {
  return tableFromIPC(readParquet(await readFile(file)).intoIPCStream());
}
