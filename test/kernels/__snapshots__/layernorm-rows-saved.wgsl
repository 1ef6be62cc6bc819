@group(0) @binding(0) var<storage, read_write> x: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> gamma: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> beta: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> xhat: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> rstd_out: array<f32>;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let item = wid.x * 16u + lid.x;
  if (item >= 5u) {
    return;
  }
  let row0 = min(item * 2u + 0u, 9u);
  let base0 = row0 * 3u;
  let row1 = min(item * 2u + 1u, 9u);
  let base1 = row1 * 3u;
  let first0 = x[base0];
  let k0 = (first0.x + first0.y) / 2.0f;
  let first1 = x[base1];
  let k1 = (first1.x + first1.y) / 2.0f;
  var s0 = vec2<f32>(0.0f);
  var q0 = vec2<f32>(0.0f);
  var s1 = vec2<f32>(0.0f);
  var q1 = vec2<f32>(0.0f);
  for (var j = 0u; j < 3u; j++) {
    let a0 = x[base0 + j] - k0;
    s0 += a0;
    q0 += a0 * a0;
    let a1 = x[base1 + j] - k1;
    s1 += a1;
    q1 += a1 * a1;
  }
  let d0 = (s0.x + s0.y) / 6.0f;
  let mean0 = k0 + d0;
  let rstd0 = inverseSqrt(max((q0.x + q0.y) / 6.0f - d0 * d0, 0.0f) + 0.000009999999747378752f);
  let d1 = (s1.x + s1.y) / 6.0f;
  let mean1 = k1 + d1;
  let rstd1 = inverseSqrt(max((q1.x + q1.y) / 6.0f - d1 * d1, 0.0f) + 0.000009999999747378752f);
  for (var j = 0u; j < 3u; j++) {
    let g = gamma[j];
    let b = beta[j];
    let xh0 = (x[base0 + j] - mean0) * rstd0;
    y[base0 + j] = xh0 * g + b;
    xhat[base0 + j] = xh0;
    let xh1 = (x[base1 + j] - mean1) * rstd1;
    y[base1 + j] = xh1 * g + b;
    xhat[base1 + j] = xh1;
  }
  rstd_out[row0] = rstd0;
  rstd_out[row1] = rstd1;
}
