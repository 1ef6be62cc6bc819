@group(0) @binding(0) var<storage, read_write> p0: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> p1: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> p2: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<vec2<f32>>;

fn load_x(i: u32) -> vec2<f32> {
  let v0: vec2<f32> = p0[i];
  let v1: vec2<f32> = vec2<f32>(0.125f);
  let v2: vec2<f32> = (v0 * v1);
  let v3: vec2<f32> = p1[(i % 18u)];
  let v4: vec2<f32> = (v2 + v3);
  let v5: vec2<f32> = vec2<f32>(p2[(i / 3u)]);
  let v6: vec2<f32> = (v4 + v5);
  return v6;
}

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x * 16u + lid.x;
  if (row >= 12u) {
    return;
  }
  let base = row * 3u;
  var m = -3.4028234663852886e+38f;
  var s = vec2<f32>(0.0f);
  for (var i = 0u; i < 1u; i++) {
    let a0 = load_x(base + i * 2u);
    let a1 = load_x(base + i * 2u + 1u);
    let cv = max(a0, a1);
    let mn = max(m, max(cv.x, cv.y));
    s = s * exp(m - mn) + (exp(a0 - mn) + exp(a1 - mn));
    m = mn;
  }
  {
    let a0 = load_x(base + 2u);
    let cv = a0;
    let mn = max(m, max(cv.x, cv.y));
    s = s * exp(m - mn) + exp(a0 - mn);
    m = mn;
  }
  let inv = 1.0f / (s.x + s.y);
  for (var j = 0u; j < 3u; j++) {
    y[base + j] = exp(load_x(base + j) - m) * inv;
  }
}
