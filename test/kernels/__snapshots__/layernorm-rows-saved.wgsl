@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> gamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> xhat: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd_out: array<f32>;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x * 16u + lid.x;
  if (row >= 10u) {
    return;
  }
  let base = row * 6u;
  var s = f32(0.0f);
  for (var j = 0u; j < 6u; j++) {
    s += x[base + j];
  }
  let mean = s / 6.0f;
  var q = f32(0.0f);
  for (var j = 0u; j < 6u; j++) {
    let d = x[base + j] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(q / 6.0f + 0.000009999999747378752f);
  for (var j = 0u; j < 6u; j++) {
    let xh = (x[base + j] - mean) * rstd;
    y[base + j] = xh * gamma[j] + beta[j];
    xhat[base + j] = xh;
  }
  rstd_out[row] = rstd;
}
