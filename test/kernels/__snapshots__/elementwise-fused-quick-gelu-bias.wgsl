@group(0) @binding(0) var<storage, read_write> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn sigmoid_f32(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0f + e), 1.0f / (1.0f + e), x >= 0.0f);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  if (i >= arrayLength(&out)) {
    return;
  }
  let v0: f32 = in0[i];
  let v1: f32 = 1.7020000219345093f;
  let v2: f32 = (v0 * v1);
  let v3: f32 = sigmoid_f32(v2);
  let v4: f32 = (v0 * v3);
  let v5: f32 = in1[(i % 6u)];
  let v6: f32 = (v4 + v5);
  out[i] = v6;
}
