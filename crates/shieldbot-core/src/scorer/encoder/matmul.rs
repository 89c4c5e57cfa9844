//! Matrix products: int8 dense layers and strided f32 sgemm.
//!
//! Weights stay int8 in memory (11 MB instead of 44 MB of f32): a message of a few tokens is
//! bound by reading the weights, and int8 ones stay in the CPU's last-level cache where f32 ones
//! would not. A dense layer dequantises a few rows of its weights at a time into a small f32
//! panel and multiplies the panel with every token; for long sequences the panel goes to
//! `matrixmultiply`'s sgemm, whose packing then pays off, for short ones to a register-blocked
//! kernel (AVX2 + FMA where the CPU has them) that reads the panel straight from L1.

/// Output rows of a weight matrix dequantised per sgemm call: a panel of at most 64 x 1536 f32
/// (384 KB) stays in L2.
pub(super) const PANEL_ROWS: usize = 64;

/// An int8 matrix with one scale per row: `W[r][c] = q[r][c] * scale[r]`, row-major.
#[derive(Debug, Clone)]
pub(crate) struct Quantised {
    pub q: Vec<i8>,
    pub scale: Vec<f32>,
    pub rows: usize,
    pub columns: usize,
}

impl Quantised {
    /// Rows `first..first + count`, dequantised into `out` (row-major).
    pub(super) fn rows_into(&self, first: usize, count: usize, out: &mut [f32]) {
        let columns = self.columns;
        let q = &self.q[first * columns..(first + count) * columns];
        let scales = &self.scale[first..first + count];
        let out = &mut out[..count * columns];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { dequantise_avx2(q, scales, columns, out) };
            return;
        }
        dequantise(q, scales, columns, out);
    }
}

/// `out[r][c] = q[r][c] * scale[r]`: a loop the compiler vectorises.
#[inline(always)]
fn dequantise(q: &[i8], scales: &[f32], columns: usize, out: &mut [f32]) {
    for ((out, q), &scale) in out
        .chunks_exact_mut(columns)
        .zip(q.chunks_exact(columns))
        .zip(scales)
    {
        for (o, &v) in out.iter_mut().zip(q) {
            *o = f32::from(v) * scale;
        }
    }
}

/// [`dequantise`] compiled for AVX2 (eight conversions per instruction instead of four).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dequantise_avx2(q: &[i8], scales: &[f32], columns: usize, out: &mut [f32]) {
    dequantise(q, scales, columns, out);
}

/// A dense layer, `y = x W^T + b`, with `W` stored as `[outputs][inputs]`.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub weight: Quantised,
    pub bias: Vec<f32>,
}

/// Sequences up to this many tokens use the register-blocked kernel, longer ones sgemm
/// (measured with `benches/encoder.rs`).
const SHORT_SEQUENCE: usize = 64;

/// Whether a dense layer over `tokens` tokens uses the short-sequence kernel. Not in debug
/// builds: there our own code is unoptimised (the workspace optimises only dependencies), which
/// makes the intrinsics kernel fifty times slower than the optimised sgemm, and the tests would
/// crawl. The kernel's arithmetic is tested directly against a naive product in both builds.
fn use_kernel(tokens: usize) -> bool {
    !cfg!(debug_assertions) && tokens <= SHORT_SEQUENCE
}

/// Weight rows the short-sequence kernel dequantises at a time (at most 4 x 1536 f32, 24 KB,
/// stays in L1).
const KERNEL_ROWS: usize = 4;

/// `out[tokens][outputs] = input[tokens][inputs] W^T + b`, a panel of weight rows at a time.
pub(super) fn dense(
    input: &[f32],
    tokens: usize,
    linear: &Linear,
    out: &mut [f32],
    panel: &mut [f32],
) {
    let (inputs, outputs) = (linear.weight.columns, linear.weight.rows);
    let input = &input[..tokens * inputs];
    let out = &mut out[..tokens * outputs];
    for row in out.chunks_exact_mut(outputs) {
        row.copy_from_slice(&linear.bias);
    }
    if use_kernel(tokens) {
        for first in (0..outputs).step_by(KERNEL_ROWS) {
            let count = KERNEL_ROWS.min(outputs - first);
            let panel = &mut panel[..count * inputs];
            linear.weight.rows_into(first, count, panel);
            add_products(input, inputs, panel, out, outputs, first);
        }
        return;
    }
    for first in (0..outputs).step_by(PANEL_ROWS) {
        let count = PANEL_ROWS.min(outputs - first);
        let panel = &mut panel[..count * inputs];
        linear.weight.rows_into(first, count, panel);
        sgemm(
            Operand::new(input, tokens, inputs, inputs, 1),
            // The panel transposed: element (i, o) is W[first + o][i].
            Operand::new(panel, inputs, count, 1, inputs),
            1.0,
            1.0,
            &mut out[first..],
            outputs,
        );
    }
}

/// `out[t][first + r] += input[t] . panel[r]` for every token `t` and panel row `r`.
fn add_products(
    input: &[f32],
    inputs: usize,
    panel: &[f32],
    out: &mut [f32],
    outputs: usize,
    first: usize,
) {
    let count = panel.len() / inputs;
    let mut tokens = input
        .chunks_exact(inputs)
        .zip(out.chunks_exact_mut(outputs));
    if count != KERNEL_ROWS {
        for (x, out) in tokens {
            for (r, w) in panel.chunks_exact(inputs).enumerate() {
                out[first + r] += x.iter().zip(w).map(|(a, b)| a * b).sum::<f32>();
            }
        }
        return;
    }
    let w = [
        &panel[..inputs],
        &panel[inputs..2 * inputs],
        &panel[2 * inputs..3 * inputs],
        &panel[3 * inputs..4 * inputs],
    ];
    let add = |out: &mut [f32], sums: [f32; KERNEL_ROWS]| {
        for (o, s) in out[first..first + KERNEL_ROWS].iter_mut().zip(sums) {
            *o += s;
        }
    };
    loop {
        match (tokens.next(), tokens.next()) {
            (Some((x0, out0)), Some((x1, out1))) => {
                let [s0, s1] = dots([x0, x1], w);
                add(out0, s0);
                add(out1, s1);
            }
            (Some((x0, out0)), None) => {
                let [s0] = dots([x0], w);
                add(out0, s0);
                break;
            }
            _ => break,
        }
    }
}

/// Every dot product of `T` input rows with four weight rows, all of one length.
fn dots<const T: usize>(x: [&[f32]; T], w: [&[f32]; KERNEL_ROWS]) -> [[f32; KERNEL_ROWS]; T] {
    let length = w[0].len();
    assert!(x.iter().chain(&w).all(|row| row.len() == length));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), and every row has
        // `length` elements (asserted above), which is all `dots_avx2` reads.
        return unsafe { dots_avx2(x, w) };
    }
    let mut sums = [[0.0; KERNEL_ROWS]; T];
    for (sums, x) in sums.iter_mut().zip(x) {
        for (sum, w) in sums.iter_mut().zip(w) {
            *sum = x.iter().zip(w).map(|(a, b)| a * b).sum();
        }
    }
    sums
}

/// [`dots`] with eight-lane FMA: `T` tokens by four rows of accumulators stay in registers.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and every row must have `w[0].len()` elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_avx2<const T: usize>(
    x: [&[f32]; T],
    w: [&[f32]; KERNEL_ROWS],
) -> [[f32; KERNEL_ROWS]; T] {
    use std::arch::x86_64::*;
    const LANES: usize = 8;
    let length = w[0].len();
    let whole = length - length % LANES;
    let mut lanes = [[_mm256_setzero_ps(); KERNEL_ROWS]; T];
    let mut at = 0;
    while at < whole {
        // SAFETY: at + LANES <= whole <= length, the length of every row.
        let ws: [__m256; KERNEL_ROWS] =
            std::array::from_fn(|r| unsafe { _mm256_loadu_ps(w[r].as_ptr().add(at)) });
        for t in 0..T {
            // SAFETY: as above.
            let xs = unsafe { _mm256_loadu_ps(x[t].as_ptr().add(at)) };
            for r in 0..KERNEL_ROWS {
                lanes[t][r] = _mm256_fmadd_ps(xs, ws[r], lanes[t][r]);
            }
        }
        at += LANES;
    }
    let mut sums = [[0.0; KERNEL_ROWS]; T];
    for t in 0..T {
        for r in 0..KERNEL_ROWS {
            let v = lanes[t][r];
            let half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
            let one = _mm_add_ss(quarter, _mm_shuffle_ps::<1>(quarter, quarter));
            let tail: f32 = x[t][whole..]
                .iter()
                .zip(&w[r][whole..])
                .map(|(a, b)| a * b)
                .sum();
            sums[t][r] = _mm_cvtss_f32(one) + tail;
        }
    }
    sums
}

/// A strided `rows x columns` view of a slice, as sgemm reads it.
pub(super) struct Operand<'a> {
    data: &'a [f32],
    rows: usize,
    columns: usize,
    row_stride: usize,
    column_stride: usize,
}

impl<'a> Operand<'a> {
    /// A view; panics (a bug, never input-dependent) if it reaches past the slice.
    pub(super) fn new(
        data: &'a [f32],
        rows: usize,
        columns: usize,
        row_stride: usize,
        column_stride: usize,
    ) -> Operand<'a> {
        let last = (rows.max(1) - 1) * row_stride + (columns.max(1) - 1) * column_stride;
        assert!(
            rows == 0 || columns == 0 || last < data.len(),
            "operand out of bounds"
        );
        Operand {
            data,
            rows,
            columns,
            row_stride,
            column_stride,
        }
    }
}

/// `c = alpha * a b + beta * c`, with `c` dense row-major with `c_row_stride`.
pub(super) fn sgemm(
    a: Operand,
    b: Operand,
    alpha: f32,
    beta: f32,
    c: &mut [f32],
    c_row_stride: usize,
) {
    assert_eq!(a.columns, b.rows, "inner dimensions differ");
    let (m, k, n) = (a.rows, a.columns, b.columns);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * c_row_stride + n <= c.len(),
        "output out of bounds"
    );
    // SAFETY: the asserts above (and in `Operand::new`) keep every element sgemm reads or
    // writes inside its slice; `c` is a unique borrow, so it aliases neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.column_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.column_stride as isize,
            beta,
            c.as_mut_ptr(),
            c_row_stride as isize,
            1,
        );
    }
}

/// `c = a b`, overwriting `c`.
pub(super) fn sgemm_into(a: Operand, b: Operand, c: &mut [f32], c_row_stride: usize) {
    sgemm(a, b, 1.0, 0.0, c, c_row_stride);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_sgemm_matches_naive_product() {
        // a: 2x3, b stored as its transpose (3x2 viewed through strides).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b_transposed = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]; // rows of b^T
        let mut c = [0.0; 4];
        sgemm(
            Operand::new(&a, 2, 3, 3, 1),
            Operand::new(&b_transposed, 3, 2, 1, 3),
            1.0,
            0.0,
            &mut c,
            2,
        );
        assert_eq!(c, [50.0, 68.0, 122.0, 167.0]);
    }

    /// A small deterministic layer with an odd input width (exercises the lane tail) and an
    /// output count that is not a multiple of the kernel's rows.
    fn layer(inputs: usize, outputs: usize) -> Linear {
        let q = (0..inputs * outputs)
            .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
            .collect();
        let scale = (0..outputs).map(|o| 0.01 + 0.001 * o as f32).collect();
        let bias = (0..outputs).map(|o| o as f32 * 0.1 - 0.5).collect();
        Linear {
            weight: Quantised {
                q,
                scale,
                rows: outputs,
                columns: inputs,
            },
            bias,
        }
    }

    fn input(tokens: usize, inputs: usize) -> Vec<f32> {
        (0..tokens * inputs)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.25)
            .collect()
    }

    fn assert_naive_product(linear: &Linear, input: &[f32], tokens: usize, out: &[f32]) {
        let w = &linear.weight;
        let (inputs, outputs) = (w.columns, w.rows);
        for t in 0..tokens {
            for o in 0..outputs {
                let expected: f32 = linear.bias[o]
                    + (0..inputs)
                        .map(|i| {
                            input[t * inputs + i] * (f32::from(w.q[o * inputs + i]) * w.scale[o])
                        })
                        .sum::<f32>();
                let got = out[t * outputs + o];
                assert!(
                    (got - expected).abs() < 1e-4 * (1.0 + expected.abs()),
                    "{tokens} tokens: out[{t}][{o}] = {got}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn dense_matches_naive_product_for_short_and_long_sequences() {
        let linear = layer(19, 10);
        for tokens in [1, 2, 3, SHORT_SEQUENCE, SHORT_SEQUENCE + 5] {
            let input = input(tokens, 19);
            let mut out = vec![f32::NAN; tokens * 10];
            let mut panel = vec![0.0; PANEL_ROWS * 19];
            dense(&input, tokens, &linear, &mut out, &mut panel);
            assert_naive_product(&linear, &input, tokens, &out);
        }
    }

    #[test]
    fn short_sequence_kernel_matches_naive_product() {
        // Widths with and without a tail after the eight-lane steps; 10 outputs leave a block
        // of two rows for the fallback path.
        for inputs in [19, 24, 5] {
            let linear = layer(inputs, 10);
            for tokens in [1, 2, 3, 6] {
                let input = input(tokens, inputs);
                let mut out: Vec<f32> = (0..tokens).flat_map(|_| linear.bias.clone()).collect();
                let mut panel = vec![0.0; KERNEL_ROWS * inputs];
                for first in (0..10).step_by(KERNEL_ROWS) {
                    let count = KERNEL_ROWS.min(10 - first);
                    let panel = &mut panel[..count * inputs];
                    linear.weight.rows_into(first, count, panel);
                    add_products(&input, inputs, panel, &mut out, 10, first);
                }
                assert_naive_product(&linear, &input, tokens, &out);
            }
        }
    }
}
