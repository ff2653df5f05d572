/*
 * ae-manifold's wasm SIMD kernels. Built by scripts/build-simd-kernels.sh (clang 14, wasm-ld 14)
 * into a module that imports tfjs-backend-wasm's own memory: every pointer below is a byte offset
 * of a tensor in that heap, so no data is copied in or out.
 *
 * Rules that keep the module safe inside another module's memory (checked by the build script and
 * by a test): no data segments, no globals, no shadow stack (no arrays or address-taken locals),
 * no imports but the memory. Every function writes only to its output arguments.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef float f32;
typedef v128_t f4;

/* ---------------------------------------------------------------------------------------------
 * col2im: dx [N, H, W, C] = overlap-add of P [N·Ho·Wo, kh·kw·C], where row i, column j of the
 * window of output pixel (n, oy, ox) covers input pixel (n, oy·sh + i − top, ox·sw + j − left).
 * Written as a gather: each dx pixel sums the taps (i, j) whose window covers it, in row-major
 * order, channel vectors held in registers, and is stored once. (The scatter form stalls on the
 * overlapping stores of neighbouring windows.) Each window row's taps are summed apart, then
 * added to the total, which keeps the dependency chains short for one-channel inputs.
 * ------------------------------------------------------------------------------------------- */

/* First tap index t ≥ 0 along one axis with (pos − t) a multiple of s and (pos − t)/s < out. */
static inline int firstTap(int pos, int s, int out) {
  int t = pos % s;
  const int lo = pos - (out - 1) * s;
  if (lo > t) t += ((lo - t + s - 1) / s) * s;
  return t;
}

/* Runs BODY(p) for the covering taps of the current pixel, where p points at the tap's first
 * value for channel c; ROW_START / ROW_END bracket each window row. */
#define FOR_TAPS(ROW_START, BODY, ROW_END)                                              \
  for (int i = i0, oy = (ty - i0) / sh; i <= i1; i += sh, oy--) {                        \
    ROW_START;                                                                           \
    const f32 *row = P + ((long)n * Ho + oy) * Wo * K + (long)i * kw * C + c;            \
    for (int j = j0, ox = (tx - j0) / sw; j <= j1; j += sw, ox--) {                      \
      const f32 *p = row + (long)ox * K + j * C;                                         \
      BODY;                                                                              \
    }                                                                                    \
    ROW_END;                                                                             \
  }

EXPORT(col2im)
void col2im(const f32 *P, f32 *dx, int N, int H, int W, int C, int Ho, int Wo, int kh, int kw,
            int sh, int sw, int top, int left) {
  const int K = kh * kw * C;
  for (int n = 0; n < N; n++) {
    for (int y = 0; y < H; y++) {
      const int ty = y + top;
      const int i0 = firstTap(ty, sh, Ho);
      const int i1 = ty < kh - 1 ? ty : kh - 1;
      for (int x = 0; x < W; x++) {
        const int tx = x + left;
        const int j0 = firstTap(tx, sw, Wo);
        const int j1 = tx < kw - 1 ? tx : kw - 1;
        f32 *d = dx + (((long)n * H + y) * W + x) * C;
        int c = 0;
        for (; c + 16 <= C; c += 16) {
          f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
          FOR_TAPS((void)0, {
            a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
            a1 = wasm_f32x4_add(a1, wasm_v128_load(p + 4));
            a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 8));
            a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 12));
          }, (void)0)
          wasm_v128_store(d + c, a0);
          wasm_v128_store(d + c + 4, a1);
          wasm_v128_store(d + c + 8, a2);
          wasm_v128_store(d + c + 12, a3);
        }
        for (; c + 4 <= C; c += 4) {
          f4 a0 = wasm_f32x4_splat(0.0f), r = a0;
          FOR_TAPS(r = wasm_f32x4_splat(0.0f), r = wasm_f32x4_add(r, wasm_v128_load(p)), a0 = wasm_f32x4_add(a0, r))
          wasm_v128_store(d + c, a0);
        }
        for (; c < C; c++) {
          f32 a0 = 0.0f, r = 0.0f;
          FOR_TAPS(r = 0.0f, r += *p, a0 += r)
          d[c] = a0;
        }
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * MaxPoolGrad for 2×2 windows with stride 2 and no padding, NHWC. For each window and channel the
 * first maximum in row-major order wins (strict comparisons from −∞, as on the cpu backend: a NaN
 * never wins and a window with no value above −∞ passes no gradient); the winner gets dy + 0 (a −0
 * gradient becomes +0, as 0 + dy does on cpu) and the other three get +0. Rows from 2·Ho and
 * columns from 2·Wo, which no window covers, are zeroed.
 * ------------------------------------------------------------------------------------------- */
static inline void pool4(const f32 *x0, const f32 *x1, const f32 *x2, const f32 *x3, const f32 *g,
                         f32 *d0, f32 *d1, f32 *d2, f32 *d3) {
  const f4 v0 = wasm_v128_load(x0), v1 = wasm_v128_load(x1);
  const f4 v2 = wasm_v128_load(x2), v3 = wasm_v128_load(x3);
  const f4 ninf = wasm_f32x4_splat(-__builtin_inff());
  const f4 gt0 = wasm_f32x4_gt(v0, ninf);
  f4 best = wasm_v128_bitselect(v0, ninf, gt0);
  const f4 gt1 = wasm_f32x4_gt(v1, best);
  best = wasm_v128_bitselect(v1, best, gt1);
  const f4 gt2 = wasm_f32x4_gt(v2, best);
  best = wasm_v128_bitselect(v2, best, gt2);
  const f4 gt3 = wasm_f32x4_gt(v3, best);
  const f4 gz = wasm_f32x4_add(wasm_v128_load(g), wasm_f32x4_splat(0.0f));
  const f4 w2 = wasm_v128_andnot(gt2, gt3);
  const f4 w1 = wasm_v128_andnot(wasm_v128_andnot(gt1, gt2), gt3);
  const f4 w0 = wasm_v128_andnot(wasm_v128_andnot(wasm_v128_andnot(gt0, gt1), gt2), gt3);
  wasm_v128_store(d0, wasm_v128_and(gz, w0));
  wasm_v128_store(d1, wasm_v128_and(gz, w1));
  wasm_v128_store(d2, wasm_v128_and(gz, w2));
  wasm_v128_store(d3, wasm_v128_and(gz, gt3));
}

static inline void pool1(f32 v0, f32 v1, f32 v2, f32 v3, f32 g, f32 *d0, f32 *d1, f32 *d2, f32 *d3) {
  f32 m = -__builtin_inff();
  int w = -1;
  if (v0 > m) { m = v0; w = 0; }
  if (v1 > m) { m = v1; w = 1; }
  if (v2 > m) { m = v2; w = 2; }
  if (v3 > m) w = 3;
  const f32 gz = g + 0.0f;
  *d0 = w == 0 ? gz : 0.0f;
  *d1 = w == 1 ? gz : 0.0f;
  *d2 = w == 2 ? gz : 0.0f;
  *d3 = w == 3 ? gz : 0.0f;
}

EXPORT(max_pool_grad_2x2)
void max_pool_grad_2x2(const f32 *x, const f32 *dy, f32 *dx, int N, int H, int W, int C, int Ho, int Wo) {
  const int rowLen = W * C;
  const int C4 = C & ~3;
  for (int b = 0; b < N; b++) {
    f32 *img = dx + (long)b * H * rowLen;
    for (int yr = 0; yr < Ho; yr++) {
      long p0 = ((long)b * H + 2 * yr) * rowLen;
      long o = ((long)b * Ho + yr) * Wo * C;
      for (int yc = 0; yc < Wo; yc++) {
        const long p1 = p0 + C, p2 = p0 + rowLen, p3 = p2 + C;
        int d = 0;
        for (; d < C4; d += 4) {
          pool4(x + p0 + d, x + p1 + d, x + p2 + d, x + p3 + d, dy + o + d,
                dx + p0 + d, dx + p1 + d, dx + p2 + d, dx + p3 + d);
        }
        for (; d < C; d++) {
          pool1(x[p0 + d], x[p1 + d], x[p2 + d], x[p3 + d], dy[o + d],
                dx + p0 + d, dx + p1 + d, dx + p2 + d, dx + p3 + d);
        }
        p0 += 2 * C;
        o += C;
      }
      /* Columns past the last window in the two covered rows. */
      if (2 * Wo < W) {
        const int n = (W - 2 * Wo) * C;
        __builtin_memset(img + (2 * yr) * rowLen + 2 * Wo * C, 0, (unsigned)n * sizeof(f32));
        __builtin_memset(img + (2 * yr + 1) * rowLen + 2 * Wo * C, 0, (unsigned)n * sizeof(f32));
      }
    }
    if (2 * Ho < H) __builtin_memset(img + 2 * Ho * rowLen, 0, (unsigned)((H - 2 * Ho) * rowLen) * sizeof(f32));
  }
}

/* ---------------------------------------------------------------------------------------------
 * tanh, elementwise. |x| < 0.625: x + x·z·p(z), z = x², with the single-precision minimax
 * polynomial of the Cephes library (tanhf). Otherwise sign(x)·(1 − 2/(e^{2|x|} + 1)) with
 * e^y = 2^n·q(r), r = y − n·ln 2 (two-part ln 2), q the degree-7 Taylor polynomial (|r| ≤ ln2/2);
 * 2|x| is capped at 20, where the result is 1 in float32. NaN gives NaN, ±∞ gives ±1, −0 gives −0.
 * The scalar tail uses the same operations in the same order as the vector body.
 * ------------------------------------------------------------------------------------------- */
#define TANH_SMALL 0.625f
#define P4 -5.70498872745e-3f
#define P3 2.06390887954e-2f
#define P2 -5.37397155531e-2f
#define P1 1.33314422036e-1f
#define P0 -3.33332819422e-1f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693145751953125f
#define LN2_LO 1.42860682030941723212e-6f

static inline f4 exp4(f4 y) {
  const f4 n = wasm_f32x4_nearest(wasm_f32x4_mul(y, wasm_f32x4_splat(LOG2E)));
  f4 r = wasm_f32x4_sub(y, wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_HI)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_LO)));
  f4 q = wasm_f32x4_splat(1.0f / 5040.0f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f / 720.0f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f / 120.0f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f / 24.0f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f / 6.0f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(0.5f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), wasm_f32x4_splat(1.0f));
  const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  const f4 scale = wasm_i32x4_shl(wasm_i32x4_add(ni, wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(q, scale);
}

static inline f4 tanh4(f4 x) {
  const f4 a = wasm_f32x4_abs(x);
  const f4 z = wasm_f32x4_mul(x, x);
  f4 p = wasm_f32x4_splat(P4);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), wasm_f32x4_splat(P3));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), wasm_f32x4_splat(P2));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), wasm_f32x4_splat(P1));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), wasm_f32x4_splat(P0));
  f4 small = wasm_f32x4_add(x, wasm_f32x4_mul(wasm_f32x4_mul(p, z), x));
  small = wasm_v128_bitselect(x, small, wasm_f32x4_eq(a, wasm_f32x4_splat(0.0f))); /* ±0 stays ±0 */
  const f4 y = wasm_f32x4_min(wasm_f32x4_add(a, a), wasm_f32x4_splat(20.0f));
  const f4 e = exp4(y);
  const f4 one = wasm_f32x4_splat(1.0f);
  const f4 big = wasm_f32x4_sub(one, wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, one)));
  const f4 sign = wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000u));
  const f4 bigSigned = wasm_v128_or(big, sign);
  return wasm_v128_bitselect(small, bigSigned, wasm_f32x4_lt(a, wasm_f32x4_splat(TANH_SMALL)));
}

EXPORT(tanh_f32)
void tanh_f32(const f32 *x, f32 *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, tanh4(wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] = wasm_f32x4_extract_lane(tanh4(wasm_f32x4_splat(x[i])), 0);
}

/* ---------------------------------------------------------------------------------------------
 * The element-wise part of one C&W step (src/attacks/optimize.ts), fused for the wasm engine.
 *
 * cw_box, per row r and value k of rows × D:
 *   t = tanh(δ + base), x′ = mid_k + half_k·t, masked (L0): x′ = mask·x′ + (1 − mask)·x;
 *   diff = x′ − x̃; dist_r = Σ_k diff² (L2) or Σ_k max(0, |diff| − τ_r) (L∞), summed in double;
 *   jac = ∂x′/∂δ = half_k·(1 − t²)·mask, dper = ∂(per-value distance)/∂x′ = 2·diff (L2) or, L∞,
 *   sign(diff) where |diff| − τ_r > 0 and 0 elsewhere (the sign is −1 at diff ≤ 0, as tfjs's Abs
 *   gradient has it).
 * `mask`, `x` and `tau` are 0 (no tensor) when unused.
 * ------------------------------------------------------------------------------------------- */
EXPORT(cw_box)
void cw_box(const f32 *delta, const f32 *base, const f32 *mid, const f32 *half, const f32 *xt,
            const f32 *mask, const f32 *x, const f32 *tau, f32 *img, f32 *dist, f32 *jac, f32 *dper,
            int rows, int D, int linf) {
  const f4 one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f), two = wasm_f32x4_splat(2.0f);
  for (int r = 0; r < rows; r++) {
    const long o = (long)r * D;
    const f4 tauv = wasm_f32x4_splat(linf ? tau[r] : 0.0f);
    v128_t acc0 = wasm_f64x2_splat(0.0), acc1 = acc0;
    for (int k = 0; k < D; k += 4) {
      /* The last group of a row that is not a multiple of 4 is done lane by lane (below). */
      if (k + 4 > D) break;
      const f4 t = tanh4(wasm_f32x4_add(wasm_v128_load(delta + o + k), wasm_v128_load(base + o + k)));
      const f4 h = wasm_v128_load(half + k);
      f4 xp = wasm_f32x4_add(wasm_v128_load(mid + k), wasm_f32x4_mul(h, t));
      f4 j = wasm_f32x4_mul(h, wasm_f32x4_sub(one, wasm_f32x4_mul(t, t)));
      if (mask) {
        const f4 mk = wasm_v128_load(mask + o + k);
        xp = wasm_f32x4_add(wasm_f32x4_mul(mk, xp), wasm_f32x4_mul(wasm_f32x4_sub(one, mk), wasm_v128_load(x + o + k)));
        j = wasm_f32x4_mul(j, mk);
      }
      const f4 diff = wasm_f32x4_sub(xp, wasm_v128_load(xt + o + k));
      f4 per, dp;
      if (linf) {
        const f4 over = wasm_f32x4_sub(wasm_f32x4_abs(diff), tauv);
        const f4 live = wasm_f32x4_gt(over, zero);
        per = wasm_v128_and(over, live);
        const f4 sgn = wasm_v128_bitselect(one, wasm_f32x4_neg(one), wasm_f32x4_gt(diff, zero));
        dp = wasm_v128_and(sgn, live);
      } else {
        per = wasm_f32x4_mul(diff, diff);
        dp = wasm_f32x4_mul(two, diff);
      }
      acc0 = wasm_f64x2_add(acc0, wasm_f64x2_promote_low_f32x4(per));
      acc1 = wasm_f64x2_add(acc1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(per, per, 2, 3, 0, 1)));
      wasm_v128_store(img + o + k, xp);
      wasm_v128_store(jac + o + k, j);
      wasm_v128_store(dper + o + k, dp);
    }
    double s = wasm_f64x2_extract_lane(acc0, 0) + wasm_f64x2_extract_lane(acc0, 1) +
               wasm_f64x2_extract_lane(acc1, 0) + wasm_f64x2_extract_lane(acc1, 1);
    for (int k = D & ~3; k < D; k++) {
      const f32 t = wasm_f32x4_extract_lane(tanh4(wasm_f32x4_splat(delta[o + k] + base[o + k])), 0);
      f32 xp = mid[k] + half[k] * t;
      f32 j = half[k] * (1.0f - t * t);
      if (mask) {
        xp = mask[o + k] * xp + (1.0f - mask[o + k]) * x[o + k];
        j = j * mask[o + k];
      }
      const f32 diff = xp - xt[o + k];
      f32 per, dp;
      if (linf) {
        const f32 over = (diff < 0.0f ? -diff : diff) - tau[r];
        per = over > 0.0f ? over : 0.0f;
        dp = over > 0.0f ? (diff > 0.0f ? 1.0f : -1.0f) : 0.0f;
      } else {
        per = diff * diff;
        dp = 2.0f * diff;
      }
      s += per;
      img[o + k] = xp;
      jac[o + k] = j;
      dper[o + k] = dp;
    }
    dist[r] = (f32)s;
  }
}

/* ---------------------------------------------------------------------------------------------
 * cw_adam: the gradient of the step's loss, g = (gImg + dper)·jac (∂loss/∂dist is 1 per row), and
 * one Adam step on δ in TF1's form with per-row step sizes ss_r:
 *   m′ = β₁·m + (1 − β₁)·g, v′ = β₂·v + (1 − β₂)·g², δ′ = δ − ss_r·m′/(√v′ + ε);
 * rows with act_r = 0 keep m and v (and have ss_r = 0). `act` is 0 when every row is active.
 * ------------------------------------------------------------------------------------------- */
EXPORT(cw_adam)
void cw_adam(const f32 *gImg, const f32 *jac, const f32 *dper, const f32 *delta, const f32 *m,
             const f32 *v, const f32 *ss, const f32 *act, f32 *g, f32 *deltaOut, f32 *mOut,
             f32 *vOut, int rows, int D, f32 b1, f32 c1, f32 b2, f32 c2, f32 eps) {
  const f4 vb1 = wasm_f32x4_splat(b1), vc1 = wasm_f32x4_splat(c1);
  const f4 vb2 = wasm_f32x4_splat(b2), vc2 = wasm_f32x4_splat(c2), veps = wasm_f32x4_splat(eps);
  for (int r = 0; r < rows; r++) {
    const long o = (long)r * D;
    const int on = act ? act[r] != 0.0f : 1;
    const f4 step = wasm_f32x4_splat(ss[r]);
    int k = 0;
    for (; k + 4 <= D; k += 4) {
      const f4 gv = wasm_f32x4_mul(wasm_f32x4_add(wasm_v128_load(gImg + o + k), wasm_v128_load(dper + o + k)), wasm_v128_load(jac + o + k));
      const f4 m0 = wasm_v128_load(m + o + k), v0 = wasm_v128_load(v + o + k);
      const f4 m1 = on ? wasm_f32x4_add(wasm_f32x4_mul(vb1, m0), wasm_f32x4_mul(vc1, gv)) : m0;
      const f4 v1 = on ? wasm_f32x4_add(wasm_f32x4_mul(vb2, v0), wasm_f32x4_mul(vc2, wasm_f32x4_mul(gv, gv))) : v0;
      const f4 upd = wasm_f32x4_mul(step, wasm_f32x4_div(m1, wasm_f32x4_add(wasm_f32x4_sqrt(v1), veps)));
      wasm_v128_store(g + o + k, gv);
      wasm_v128_store(mOut + o + k, m1);
      wasm_v128_store(vOut + o + k, v1);
      wasm_v128_store(deltaOut + o + k, wasm_f32x4_sub(wasm_v128_load(delta + o + k), upd));
    }
    for (; k < D; k++) {
      const f32 gv = (gImg[o + k] + dper[o + k]) * jac[o + k];
      const f32 m1 = on ? b1 * m[o + k] + c1 * gv : m[o + k];
      const f32 v1 = on ? b2 * v[o + k] + c2 * (gv * gv) : v[o + k];
      g[o + k] = gv;
      mOut[o + k] = m1;
      vOut[o + k] = v1;
      deltaOut[o + k] = delta[o + k] - ss[r] * (m1 / (__builtin_sqrtf(v1) + eps));
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * One-input-channel convolution (the first layer of a grey-scale image net), 'valid', stride 1,
 * dilation 1, NHWC, Co a multiple of 4. XNNPACK runs these at about half the speed of its
 * multi-channel convolutions (the reduction has only kh·kw terms); here the output channels are
 * the vector lanes and the weights of one tap are loaded once for two output pixels. (A gather
 * for the input gradient in the same style was no faster than matMul + col2im: it needs a vector
 * load of dy for every multiply-add, where the forward pass splats one input value for sixteen.)
 * ------------------------------------------------------------------------------------------- */

#define MADD(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

/* y [N, H−kh+1, W−kw+1, Co] = x [N, H, W, 1] ⋆ w [kh, kw, 1, Co] + bias [Co] (bias 0: none),
 * then max(·, 0) when relu. */
EXPORT(conv1ch_forward)
void conv1ch_forward(const f32 *x, const f32 *w, const f32 *bias, f32 *y, int N, int H, int W,
                     int kh, int kw, int Co, int relu) {
  const int Ho = H - kh + 1, Wo = W - kw + 1;
  const f4 zero = wasm_f32x4_splat(0.0f);
  for (int n = 0; n < N; n++) {
    for (int oy = 0; oy < Ho; oy++) {
      const f32 *xr = x + ((long)n * H + oy) * W;
      f32 *yr = y + ((long)n * Ho + oy) * Wo * Co;
      int c = 0;
      for (; c + 16 <= Co; c += 16) {
        const f4 b0 = bias ? wasm_v128_load(bias + c) : zero, b1 = bias ? wasm_v128_load(bias + c + 4) : zero;
        const f4 b2 = bias ? wasm_v128_load(bias + c + 8) : zero, b3 = bias ? wasm_v128_load(bias + c + 12) : zero;
        for (int ox = 0; ox + 2 <= Wo; ox += 2) {
          f4 p0 = b0, p1 = b1, p2 = b2, p3 = b3, q0 = b0, q1 = b1, q2 = b2, q3 = b3;
          for (int a = 0; a < kh; a++) {
            const f32 *xa = xr + (long)a * W + ox;
            const f32 *wa = w + (long)a * kw * Co + c;
            for (int b = 0; b < kw; b++) {
              const f32 *wt = wa + (long)b * Co;
              const f4 w0 = wasm_v128_load(wt), w1 = wasm_v128_load(wt + 4);
              const f4 w2 = wasm_v128_load(wt + 8), w3 = wasm_v128_load(wt + 12);
              const f4 s = wasm_v128_load32_splat(xa + b), t = wasm_v128_load32_splat(xa + b + 1);
              MADD(p0, s, w0); MADD(p1, s, w1); MADD(p2, s, w2); MADD(p3, s, w3);
              MADD(q0, t, w0); MADD(q1, t, w1); MADD(q2, t, w2); MADD(q3, t, w3);
            }
          }
          if (relu) {
            p0 = wasm_f32x4_max(p0, zero); p1 = wasm_f32x4_max(p1, zero); p2 = wasm_f32x4_max(p2, zero); p3 = wasm_f32x4_max(p3, zero);
            q0 = wasm_f32x4_max(q0, zero); q1 = wasm_f32x4_max(q1, zero); q2 = wasm_f32x4_max(q2, zero); q3 = wasm_f32x4_max(q3, zero);
          }
          f32 *yp = yr + (long)ox * Co + c, *yq = yp + Co;
          wasm_v128_store(yp, p0); wasm_v128_store(yp + 4, p1); wasm_v128_store(yp + 8, p2); wasm_v128_store(yp + 12, p3);
          wasm_v128_store(yq, q0); wasm_v128_store(yq + 4, q1); wasm_v128_store(yq + 8, q2); wasm_v128_store(yq + 12, q3);
        }
      }
      /* One vector of channels at a time: the channels after the last 16, and the last pixel of
       * an odd row for the first ones. */
      const int paired = Wo & ~1, c16 = c;
      for (int ox = 0; ox < Wo; ox++) {
        for (c = ox < paired ? c16 : 0; c < Co; c += 4) {
          const f4 b0 = bias ? wasm_v128_load(bias + c) : zero;
          f4 p0 = b0;
          for (int a = 0; a < kh; a++)
            for (int b = 0; b < kw; b++)
              MADD(p0, wasm_v128_load32_splat(xr + (long)a * W + ox + b), wasm_v128_load(w + ((long)a * kw + b) * Co + c));
          if (relu) p0 = wasm_f32x4_max(p0, zero);
          wasm_v128_store(yr + (long)ox * Co + c, p0);
        }
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * The input gradient of a 'valid', stride-1 convolution when its output gradient dy comes from a
 * 2 × 2 max-pool: in each 2 × 2 block of dy (rows and columns from 0) each channel has at most one
 * non-zero value, the gradient of the block's winner. conv_dx_pooled_check checks that, and
 * returns 0 when it does not hold (any block and channel with two non-zero values, or a non-zero
 * value in a last odd row or column); the caller then runs the dense kernel, having allocated
 * nothing but the scratch. Otherwise conv_dx_pooled adds, for each (block, channel) with a
 * non-zero g, g·w[c] to the kh × kw × Ci patch of dx under its non-zero position: a quarter of
 * the multiply-adds of the dense product.
 *   dy [N, Ho, Wo, Co], Co a multiple of 4
 *   filter [kh, kw, Ci, Co]
 *   dx [N, Ho + kh − 1, Wo + kw − 1, Ci], every element written
 *   scratch: gs, ts [N·Hb·Wb·Co] (Hb = Ho/2, Wb = Wo/2: each block's gradient and position
 *   0–3), wt [Co, kh, kw, Ci] (the filter, output channel first), then, with Ci a multiple of 4,
 *   lists of a block's live channels [8·Co + 4], and otherwise ws [Co, 4, TV] and a tile [TV]
 *   (below); see convPooledScratchSize in module.ts.
 * A block's patches cover a (kh + 1) × (kw + 1) tile of dx pixels. With Ci a multiple of 4, each
 * pixel's channels are summed over the block's live channels in registers and added to dx once
 * (block_by_pixel). Otherwise the patches of neighbouring positions overlap at offsets that are
 * not a whole vector apart, and each vector load would wait on an earlier, partly overlapping
 * store; so each block's patches are summed in a tile of TH × TW values (TH = kh + 1,
 * TW = (kw + 1)·Ci), which is then added to dx one value at a time. The filter is copied once per position, placed
 * in a whole tile (ws, TV = TH·TW rounded up to a multiple of 4), so that every channel adds whole
 * aligned vectors; the tile is held in registers when TV ≤ 48 (the MNIST CNN's first layer:
 * 6 × 6), and in the scratch tile otherwise.
 * ------------------------------------------------------------------------------------------- */

/* d[0..L) += g·s[0..L) */
static inline void axpy(f32 *d, const f32 *s, f32 g, int L) {
  const f4 gv = wasm_f32x4_splat(g);
  int i = 0;
  for (; i + 4 <= L; i += 4) wasm_v128_store(d + i, wasm_f32x4_add(wasm_v128_load(d + i), wasm_f32x4_mul(gv, wasm_v128_load(s + i))));
  for (; i < L; i++) d[i] += g * s[i];
}

/* Whether the n floats at p are all ±0. */
static inline int allZero(const f32 *p, long n) {
  for (long i = 0; i < n; i++)
    if (p[i] != 0.0f) return 0;
  return 1;
}

/* dx rows at d (rowStride apart) += the TH × TW tile, one value at a time: vector loads here would
 * straddle the previous block's stores. */
static inline void add_tile(f32 *d, const f32 *tile, int TH, int TW, long rowStride) {
  for (int i = 0; i < TH; i++) {
#pragma clang loop vectorize(disable) interleave(disable)
    for (int k = 0; k < TW; k++) d[(long)i * rowStride + k] += tile[i * TW + k];
  }
}

/* The block's tile in nv ≤ 12 vector registers: channel c adds gs[c]·ws[c, ts[c]]; then the tile
 * is added to dx at d (rows of TW values, rowStride apart). */
static inline __attribute__((always_inline)) void tile_in_registers(const f32 *gs, const int *ts, const f32 *ws, f32 *tile,
                                                                     f32 *d, int Co, int TV, int TH, int TW, long rowStride,
                                                                     const int nv) {
  f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  f4 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  for (int c = 0; c < Co; c++) {
    const f4 gk = wasm_v128_load32_splat(gs + c);
    const f4 *w = (const f4 *)(ws + ((long)c * 4 + ts[c]) * TV);
    MADD(a0, gk, w[0]); MADD(a1, gk, w[1]); MADD(a2, gk, w[2]); MADD(a3, gk, w[3]);
    MADD(a4, gk, w[4]); MADD(a5, gk, w[5]); MADD(a6, gk, w[6]); MADD(a7, gk, w[7]);
    MADD(a8, gk, w[8]);
    if (nv > 9) { MADD(a9, gk, w[9]); MADD(a10, gk, w[10]); MADD(a11, gk, w[11]); }
  }
  f4 *o = (f4 *)tile;
  o[0] = a0; o[1] = a1; o[2] = a2; o[3] = a3; o[4] = a4; o[5] = a5; o[6] = a6; o[7] = a7; o[8] = a8;
  if (nv > 9) { o[9] = a9; o[10] = a10; o[11] = a11; }
  add_tile(d, tile, TH, TW, rowStride);
}

/* One block's patches, Ci a multiple of 4: for each dx pixel of the block's (kh + 1) × (kw + 1)
 * tile and each run of 4·nv channels, the sum over the live channels (lists by position t:
 * gradients lg[t·Co + q], filter offsets lo[t·Co + q], count[t] of them) of g·w[tap], with the
 * tap given by the pixel and t, in nv vector registers; then one add into dx. Each dx value is
 * loaded and stored once per block, where adding patch by patch would chain each channel's
 * store to the next channel's load of the same values. */
static inline __attribute__((always_inline)) void block_by_pixel(const f32 *lg, const int *lo, const int *count, const f32 *wt,
                                                                  f32 *d, int Co, int kh, int kw, int Ci, long rowStride,
                                                                  const int nv) {
  for (int i = 0; i <= kh; i++) {
    for (int j = 0; j <= kw; j++) {
      f32 *dp = d + (long)i * rowStride + (long)j * Ci;
      for (int ch = 0; ch < Ci; ch += 4 * nv) {
        f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int t = 0; t < 4; t++) {
          const int ty = i - (t >> 1), tx = j - (t & 1);
          if (ty < 0 || ty >= kh || tx < 0 || tx >= kw) continue;
          const long off = ((long)ty * kw + tx) * Ci + ch;
          const f32 *g = lg + t * Co;
          const int *w0 = lo + t * Co;
          for (int q = 0; q < count[t]; q++) {
            const f4 gk = wasm_v128_load32_splat(g + q);
            const f4 *w = (const f4 *)(wt + w0[q] + off);
            MADD(a0, gk, w[0]);
            if (nv > 1) MADD(a1, gk, w[1]);
            if (nv > 2) { MADD(a2, gk, w[2]); MADD(a3, gk, w[3]); }
            if (nv > 4) { MADD(a4, gk, w[4]); MADD(a5, gk, w[5]); MADD(a6, gk, w[6]); MADD(a7, gk, w[7]); }
          }
        }
        f4 *o = (f4 *)(dp + ch);
        o[0] = wasm_f32x4_add(o[0], a0);
        if (nv > 1) o[1] = wasm_f32x4_add(o[1], a1);
        if (nv > 2) { o[2] = wasm_f32x4_add(o[2], a2); o[3] = wasm_f32x4_add(o[3], a3); }
        if (nv > 4) {
          o[4] = wasm_f32x4_add(o[4], a4); o[5] = wasm_f32x4_add(o[5], a5);
          o[6] = wasm_f32x4_add(o[6], a6); o[7] = wasm_f32x4_add(o[7], a7);
        }
      }
    }
  }
}

/* First pass: whether dy is a 2 × 2 pool's gradient; if so each block's gradient and position
 * (both 0 where it is all zero) are in gs and ts at the start of scratch. */
EXPORT(conv_dx_pooled_check)
int conv_dx_pooled_check(const f32 *dy, f32 *scratch, int N, int Ho, int Wo, int Co) {
  const int Hb = Ho / 2, Wb = Wo / 2;
  const long cells = (long)N * Hb * Wb;
  f32 *gs = scratch;
  int *ts = (int *)(scratch + cells * Co);
  const f4 zero = wasm_f32x4_splat(0.0f);
  const v128_t one = wasm_i32x4_splat(1);
  for (int n = 0; n < N; n++) {
    for (int by = 0; by < Hb; by++) {
      for (int bx = 0; bx < Wb; bx++) {
        const f32 *p0 = dy + (((long)n * Ho + 2 * by) * Wo + 2 * bx) * Co, *p1 = p0 + Co;
        const f32 *p2 = p0 + (long)Wo * Co, *p3 = p2 + Co;
        const long o = (((long)n * Hb + by) * Wb + bx) * Co;
        for (int c = 0; c < Co; c += 4) {
          const f4 v0 = wasm_v128_load(p0 + c), v1 = wasm_v128_load(p1 + c);
          const f4 v2 = wasm_v128_load(p2 + c), v3 = wasm_v128_load(p3 + c);
          const v128_t z0 = wasm_f32x4_eq(v0, zero), z1 = wasm_f32x4_eq(v1, zero);
          const v128_t z2 = wasm_f32x4_eq(v2, zero), z3 = wasm_f32x4_eq(v3, zero);
          /* Two non-zero values in a lane: one pair of positions with neither zero. */
          const v128_t z23 = wasm_v128_and(z2, z3);
          const v128_t pairs = wasm_v128_or(
              wasm_v128_or(wasm_v128_andnot(wasm_v128_not(z0), wasm_v128_and(z1, z23)),
                           wasm_v128_andnot(wasm_v128_not(z1), z23)),
              wasm_v128_andnot(wasm_v128_not(z2), z3));
          if (wasm_v128_any_true(pairs)) return 0;
          /* At most one non-zero value per lane: it is the sum, at position 1·[v1] + 2·[v2] + 3·[v3]. */
          wasm_v128_store(gs + o + c, wasm_f32x4_add(wasm_f32x4_add(v0, v1), wasm_f32x4_add(v2, v3)));
          const v128_t t = wasm_i32x4_add(wasm_v128_andnot(one, z1),
                                          wasm_i32x4_add(wasm_v128_andnot(wasm_i32x4_splat(2), z2), wasm_v128_andnot(wasm_i32x4_splat(3), z3)));
          wasm_v128_store(ts + o + c, t);
        }
      }
    }
    /* A last odd row or column belongs to no block: it must be all zero. */
    const f32 *img = dy + (long)n * Ho * Wo * Co;
    if (Ho & 1) {
      if (!allZero(img + (long)(Ho - 1) * Wo * Co, (long)Wo * Co)) return 0;
    }
    if (Wo & 1) {
      for (int r = 0; r < Ho; r++)
        if (!allZero(img + ((long)r * Wo + Wo - 1) * Co, Co)) return 0;
    }
  }
  return 1;
}

/* Second pass, after a successful check on the same scratch: dx from gs, ts and the filter
 * [kh, kw, Ci, Co], which is first copied output channel first (wt [Co, kh, kw, Ci]) into scratch. */
EXPORT(conv_dx_pooled)
void conv_dx_pooled(const f32 *filter, f32 *dx, f32 *scratch, int N, int Ho, int Wo, int Co, int kh, int kw, int Ci) {
  const int H = Ho + kh - 1, W = Wo + kw - 1, L = kw * Ci, Hb = Ho / 2, Wb = Wo / 2;
  const long rowStride = (long)W * Ci, patch = (long)kh * L, cells = (long)N * Hb * Wb;
  const f32 *gs = scratch;
  const int *ts = (const int *)(scratch + cells * Co);
  f32 *wt = scratch + 2 * cells * Co, *rest = wt + patch * Co;
  for (long k = 0; k < patch; k++)
    for (int c = 0; c < Co; c++) wt[c * patch + k] = filter[k * Co + c];
  __builtin_memset(dx, 0, (unsigned long)N * H * W * Ci * sizeof(f32));
  if (Ci % 4 == 0) {
    /* Lists of the live channels of a block by position: gradient and filter offset. */
    f32 *lg = rest;
    int *lo = (int *)(lg + 4 * Co), *count = lo + 4 * Co;
    const int nv = Ci % 32 == 0 ? 8 : Ci % 16 == 0 ? 4 : Ci % 8 == 0 ? 2 : 1;
    for (int n = 0; n < N; n++) {
      f32 *img = dx + (long)n * H * rowStride;
      for (int by = 0; by < Hb; by++) {
        for (int bx = 0; bx < Wb; bx++) {
          const long o = (((long)n * Hb + by) * Wb + bx) * Co;
          count[0] = count[1] = count[2] = count[3] = 0;
          for (int c = 0; c < Co; c++) {
            if (gs[o + c] == 0.0f) continue;
            const int t = ts[o + c], q = t * Co + count[t]++;
            lg[q] = gs[o + c];
            lo[q] = (int)(c * patch);
          }
          if (!(count[0] | count[1] | count[2] | count[3])) continue;
          f32 *d = img + (long)(2 * by) * rowStride + (long)(2 * bx) * Ci;
          switch (nv) {
            case 8: block_by_pixel(lg, lo, count, wt, d, Co, kh, kw, Ci, rowStride, 8); break;
            case 4: block_by_pixel(lg, lo, count, wt, d, Co, kh, kw, Ci, rowStride, 4); break;
            case 2: block_by_pixel(lg, lo, count, wt, d, Co, kh, kw, Ci, rowStride, 2); break;
            default: block_by_pixel(lg, lo, count, wt, d, Co, kh, kw, Ci, rowStride, 1); break;
          }
        }
      }
    }
    return;
  }
  /* Tiled form: ws [Co, 4, TV], channel c's patch placed at position t of a whole tile. */
  const int TH = kh + 1, TW = (kw + 1) * Ci, TV = (TH * TW + 3) & ~3;
  f32 *ws = rest, *tile = ws + (long)Co * 4 * TV;
  __builtin_memset(ws, 0, (unsigned long)Co * 4 * TV * sizeof(f32));
  for (int c = 0; c < Co; c++)
    for (int t = 0; t < 4; t++)
      for (int r = 0; r < kh; r++)
        for (int k = 0; k < L; k++) ws[((long)c * 4 + t) * TV + ((t >> 1) + r) * TW + (t & 1) * Ci + k] = wt[c * patch + (long)r * L + k];
  for (int n = 0; n < N; n++) {
    f32 *img = dx + (long)n * H * rowStride;
    for (int by = 0; by < Hb; by++) {
      for (int bx = 0; bx < Wb; bx++) {
        const long o = (((long)n * Hb + by) * Wb + bx) * Co;
        f32 *d = img + (long)(2 * by) * rowStride + (long)(2 * bx) * Ci;
        if (TV <= 36) {
          tile_in_registers(gs + o, ts + o, ws, tile, d, Co, TV, TH, TW, rowStride, 9);
        } else if (TV <= 48) {
          tile_in_registers(gs + o, ts + o, ws, tile, d, Co, TV, TH, TW, rowStride, 12);
        } else {
          __builtin_memset(tile, 0, (unsigned long)TV * sizeof(f32));
          for (int c = 0; c < Co; c++)
            if (gs[o + c] != 0.0f) axpy(tile, ws + ((long)c * 4 + ts[o + c]) * TV, gs[o + c], TV);
          add_tile(d, tile, TH, TW, rowStride);
        }
      }
    }
  }
}
