// Cache-blocked SIMD sgemm (GotoBLAS loop order): every transpose case is packed into the same contiguous
// panel layout, so one f32x4 micro-kernel of MR×NR serves all four.

const MR: i32 = 4; // rows of C per micro-tile (one broadcast of A each)
const NR: i32 = 8; // columns of C per micro-tile (two f32x4 lanes of B)
const KC: i32 = 256; // depth of one packed panel: an NR sliver of B (8 KiB) stays in L1
const MC: i32 = 128; // rows of A packed at once: MC×KC (128 KiB) stays in L2
const NC: i32 = 2048; // columns of B packed at once: KC×NC (2 MiB) stays in L3

/** Bytes of scratch the caller must provide for the packed A and B panels. */
export function sgemmScratchBytes(): i32 {
  return (MC * KC + KC * NC) * 4;
}

// A partial edge tile is computed into here and then copied into C's valid region.
const edgeTile = memory.data(MR * NR * 4, 16);

// packed[s][p][r] = op(A)[row0 + s·MR + r, p0 + p], zero past the last row.
function packA(transA: bool, m: i32, k: i32, a: usize, row0: i32, rows: i32, p0: i32, depth: i32, packed: usize): void {
  for (let s = 0; s < rows; s += MR) {
    const sliver = packed + <usize>(s * depth * 4);
    const valid = min(MR, rows - s);
    for (let p = 0; p < depth; p++) {
      const out = sliver + <usize>(p * MR * 4);
      if (transA && valid == MR) {
        v128.store(out, v128.load(a + <usize>(((p0 + p) * m + row0 + s) * 4)));
        continue;
      }
      for (let r = 0; r < MR; r++) {
        let value: f32 = 0;
        if (r < valid) {
          const i = row0 + s + r;
          value = transA ? load<f32>(a + <usize>(((p0 + p) * m + i) * 4)) : load<f32>(a + <usize>((i * k + p0 + p) * 4));
        }
        store<f32>(out + <usize>(r * 4), value);
      }
    }
  }
}

// packed[s][p][c] = op(B)[p0 + p, col0 + s·NR + c], zero past the last column.
function packB(transB: bool, n: i32, k: i32, b: usize, p0: i32, depth: i32, col0: i32, cols: i32, packed: usize): void {
  for (let s = 0; s < cols; s += NR) {
    const sliver = packed + <usize>(s * depth * 4);
    const valid = min(NR, cols - s);
    if (transB) {
      for (let c = 0; c < NR; c++) {
        const j = col0 + s + c;
        const row = b + <usize>((j * k + p0) * 4);
        for (let p = 0; p < depth; p++) {
          store<f32>(sliver + <usize>((p * NR + c) * 4), c < valid ? load<f32>(row + <usize>(p * 4)) : 0);
        }
      }
      continue;
    }
    for (let p = 0; p < depth; p++) {
      const from = b + <usize>(((p0 + p) * n + col0 + s) * 4);
      const out = sliver + <usize>(p * NR * 4);
      if (valid == NR) {
        v128.store(out, v128.load(from));
        v128.store(out, v128.load(from, 16), 16);
        continue;
      }
      for (let c = 0; c < NR; c++) store<f32>(out + <usize>(c * 4), c < valid ? load<f32>(from + <usize>(c * 4)) : 0);
    }
  }
}

// C[MR, NR] += alpha · (packed A sliver)·(packed B sliver); ldc in elements.
// @ts-ignore: decorator
@inline
function microKernel(depth: i32, pa: usize, pb: usize, alpha: f32, c: usize, ldc: i32, rows: i32, cols: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < depth; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(av, b0));
    c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0));
    c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0));
    c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0));
    c31 = f32x4.add(c31, f32x4.mul(av, b1));
    pa += 16;
    pb += 32;
  }
  const scale = f32x4.splat(alpha);
  const full = rows == MR && cols == NR;
  const row = <usize>(ldc * 4);
  // A full tile accumulates straight into C; an edge tile goes through edgeTile.
  let out = full ? c : edgeTile;
  const stride = full ? row : <usize>(NR * 4);
  if (full) {
    v128.store(out, f32x4.add(v128.load(out), f32x4.mul(scale, c00)));
    v128.store(out, f32x4.add(v128.load(out, 16), f32x4.mul(scale, c01)), 16);
    out += stride;
    v128.store(out, f32x4.add(v128.load(out), f32x4.mul(scale, c10)));
    v128.store(out, f32x4.add(v128.load(out, 16), f32x4.mul(scale, c11)), 16);
    out += stride;
    v128.store(out, f32x4.add(v128.load(out), f32x4.mul(scale, c20)));
    v128.store(out, f32x4.add(v128.load(out, 16), f32x4.mul(scale, c21)), 16);
    out += stride;
    v128.store(out, f32x4.add(v128.load(out), f32x4.mul(scale, c30)));
    v128.store(out, f32x4.add(v128.load(out, 16), f32x4.mul(scale, c31)), 16);
    return;
  }
  v128.store(out, f32x4.mul(scale, c00));
  v128.store(out, f32x4.mul(scale, c01), 16);
  v128.store(out, f32x4.mul(scale, c10), 32);
  v128.store(out, f32x4.mul(scale, c11), 48);
  v128.store(out, f32x4.mul(scale, c20), 64);
  v128.store(out, f32x4.mul(scale, c21), 80);
  v128.store(out, f32x4.mul(scale, c30), 96);
  v128.store(out, f32x4.mul(scale, c31), 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const target = c + <usize>(r * ldc + j) * 4;
      store<f32>(target, load<f32>(target) + load<f32>(edgeTile + <usize>((r * NR + j) * 4)));
    }
  }
}

// C ← beta·C, with beta = 0 clearing C (NaNs included) as the reference does.
function scaleC(count: i32, beta: f32, c: usize): void {
  if (beta == 1) return;
  const vbeta = f32x4.splat(beta);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = c + <usize>(i * 4);
    v128.store(at, beta == 0 ? zero : f32x4.mul(vbeta, v128.load(at)));
  }
  for (; i < count; i++) {
    const at = c + <usize>(i * 4);
    store<f32>(at, beta == 0 ? 0 : beta * load<f32>(at));
  }
}

/** C ← alpha·op(A)·op(B) + beta·C (row-major; see compute/kernels.ts); scratch holds sgemmScratchBytes(). */
export function sgemm(
  transA: bool,
  transB: bool,
  m: i32,
  n: i32,
  k: i32,
  alpha: f32,
  a: usize,
  b: usize,
  beta: f32,
  c: usize,
  scratch: usize,
): void {
  scaleC(m * n, beta, c);
  if (m == 0 || n == 0 || k == 0) return;
  const packedA = scratch;
  const packedB = scratch + <usize>(MC * KC * 4);
  for (let jc = 0; jc < n; jc += NC) {
    const cols = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const depth = min(KC, k - pc);
      packB(transB, n, k, b, pc, depth, jc, cols, packedB);
      for (let ic = 0; ic < m; ic += MC) {
        const rows = min(MC, m - ic);
        packA(transA, m, k, a, ic, rows, pc, depth, packedA);
        for (let jr = 0; jr < cols; jr += NR) {
          const pb = packedB + <usize>(jr * depth * 4);
          const tileCols = min(NR, cols - jr);
          for (let ir = 0; ir < rows; ir += MR) {
            const pa = packedA + <usize>(ir * depth * 4);
            const target = c + <usize>(((ic + ir) * n + jc + jr) * 4);
            microKernel(depth, pa, pb, alpha, target, n, min(MR, rows - ir), tileCols);
          }
        }
      }
    }
  }
}
