@group(0) @binding(0) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = (wid.y * nwg.x + wid.x) * 16u + lid.x;
  if (o >= arrayLength(&out)) {
    return;
  }
  let base = o * 12u;
  var acc = vec4<f32>(0.0f);
  let first = base / 4u;
  for (var r = 0u; r < 3u * nwg.z; r++) {
    acc += x[first + r];
  }
  out[o] = ((acc.x + acc.y) + (acc.z + acc.w));
}
