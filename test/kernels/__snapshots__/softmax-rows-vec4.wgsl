@group(0) @binding(0) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;

fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x * 16u + lid.x;
  if (row >= 50u) {
    return;
  }
  let base = row * 16u;
  var m = vec4<f32>(f32_bits(0xff800000u));
  for (var j = 0u; j < 16u; j++) {
    m = max(m, x[base + j]);
  }
  let mx = max(max(m.x, m.y), max(m.z, m.w));
  var s = vec4<f32>(0.0f);
  for (var j = 0u; j < 16u; j++) {
    s += exp(x[base + j] - mx);
  }
  let inv = 1.0f / ((s.x + s.y) + (s.z + s.w));
  for (var j = 0u; j < 16u; j++) {
    y[base + j] = exp(x[base + j] - mx) * inv;
  }
}
