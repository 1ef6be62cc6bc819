@group(0) @binding(0) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x * 16u + lid.x;
  if (row >= 50u) {
    return;
  }
  let base = row * 16u;
  var m = -3.4028234663852886e+38f;
  var s = vec4<f32>(0.0f);
  for (var i = 0u; i < 4u; i++) {
    let a0 = x[base + i * 4u];
    let a1 = x[base + i * 4u + 1u];
    let a2 = x[base + i * 4u + 2u];
    let a3 = x[base + i * 4u + 3u];
    let cv = max(max(a0, a1), max(a2, a3));
    let mn = max(m, max(max(cv.x, cv.y), max(cv.z, cv.w)));
    s = s * exp(m - mn) + ((exp(a0 - mn) + exp(a1 - mn)) + (exp(a2 - mn) + exp(a3 - mn)));
    m = mn;
  }
  let inv = 1.0f / ((s.x + s.y) + (s.z + s.w));
  for (var j = 0u; j < 16u * nwg.z; j++) {
    y[base + j] = exp(x[base + j] - m) * inv;
  }
}
