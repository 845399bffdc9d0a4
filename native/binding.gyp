{
  # saec_native: the compute kernels over OpenBLAS. install.mjs sets SAEC_OPENBLAS_INCLUDE / SAEC_OPENBLAS_LIB
  # to where it found cblas.h and libopenblas; left empty, the compiler's default search paths apply.
  "targets": [
    {
      "target_name": "saec_native",
      "sources": [
        "src/addon.c",
        "src/args.c",
        "src/bindings.c",
        "src/sgemm.c",
        "src/elementwise.c",
        "src/reductions.c",
        "src/rows.c",
        "src/adam.c",
        "src/gelu.c"
      ],
      "include_dirs": ["<!@(node -p \"process.env.SAEC_OPENBLAS_INCLUDE || ''\")"],
      "libraries": ["<!@(node -p \"process.env.SAEC_OPENBLAS_LIB ? '-L' + process.env.SAEC_OPENBLAS_LIB + ' -Wl,-rpath,' + process.env.SAEC_OPENBLAS_LIB : ''\")", "-lopenblas"],
      # Portable flags only (no -march=native): hot loops get an AVX2 clone via target_clones (src/kernels.h).
      # -fno-math-errno / -fno-trapping-math let sqrt and branch-free selects vectorise; results are unchanged.
      # Hidden visibility keeps kernel names like axpy from clashing with symbols already loaded in the process.
      "cflags": ["-std=c11", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=c11", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fvisibility=hidden"]
      }
    }
  ]
}
