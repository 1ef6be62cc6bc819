@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z;
  let m = arrayLength(&c) / 10u;
  let aa = 0u;
  let bb = (0u) / 4u;
  let cc = z * m * 40u;
  let row0 = wid.y * 8u;
  let c0 = wid.x * 16u + lid.x;
  let c1 = wid.x * 16u + lid.x + 8u;
  let lc0 = min(c0, 9u);
  let lc1 = min(c1, 9u);
  let ra0 = aa + min(row0 + 0u, m - 1u) * 48u;
  let ra1 = aa + min(row0 + 1u, m - 1u) * 48u;
  let ra2 = aa + min(row0 + 2u, m - 1u) * 48u;
  let ra3 = aa + min(row0 + 3u, m - 1u) * 48u;
  let ra4 = aa + min(row0 + 4u, m - 1u) * 48u;
  let ra5 = aa + min(row0 + 5u, m - 1u) * 48u;
  let ra6 = aa + min(row0 + 6u, m - 1u) * 48u;
  let ra7 = aa + min(row0 + 7u, m - 1u) * 48u;
  var acc0_0 = vec4<f32>(0.0f);
  var acc0_1 = vec4<f32>(0.0f);
  var acc1_0 = vec4<f32>(0.0f);
  var acc1_1 = vec4<f32>(0.0f);
  var acc2_0 = vec4<f32>(0.0f);
  var acc2_1 = vec4<f32>(0.0f);
  var acc3_0 = vec4<f32>(0.0f);
  var acc3_1 = vec4<f32>(0.0f);
  var acc4_0 = vec4<f32>(0.0f);
  var acc4_1 = vec4<f32>(0.0f);
  var acc5_0 = vec4<f32>(0.0f);
  var acc5_1 = vec4<f32>(0.0f);
  var acc6_0 = vec4<f32>(0.0f);
  var acc6_1 = vec4<f32>(0.0f);
  var acc7_0 = vec4<f32>(0.0f);
  var acc7_1 = vec4<f32>(0.0f);
  for (var k = 0u; k < 48u; k++) {
    let b0 = b[bb + k * 10u + lc0];
    let b1 = b[bb + k * 10u + lc1];
    let a0 = a[ra0 + k];
    let a1 = a[ra1 + k];
    let a2 = a[ra2 + k];
    let a3 = a[ra3 + k];
    let a4 = a[ra4 + k];
    let a5 = a[ra5 + k];
    let a6 = a[ra6 + k];
    let a7 = a[ra7 + k];
    acc0_0 += a0 * b0;
    acc0_1 += a0 * b1;
    acc1_0 += a1 * b0;
    acc1_1 += a1 * b1;
    acc2_0 += a2 * b0;
    acc2_1 += a2 * b1;
    acc3_0 += a3 * b0;
    acc3_1 += a3 * b1;
    acc4_0 += a4 * b0;
    acc4_1 += a4 * b1;
    acc5_0 += a5 * b0;
    acc5_1 += a5 * b1;
    acc6_0 += a6 * b0;
    acc6_1 += a6 * b1;
    acc7_0 += a7 * b0;
    acc7_1 += a7 * b1;
  }
  if (row0 + 0u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 0u) * 10u + c0] = acc0_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 0u) * 10u + c1] = acc0_1;
    }
  }
  if (row0 + 1u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 1u) * 10u + c0] = acc1_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 1u) * 10u + c1] = acc1_1;
    }
  }
  if (row0 + 2u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 2u) * 10u + c0] = acc2_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 2u) * 10u + c1] = acc2_1;
    }
  }
  if (row0 + 3u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 3u) * 10u + c0] = acc3_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 3u) * 10u + c1] = acc3_1;
    }
  }
  if (row0 + 4u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 4u) * 10u + c0] = acc4_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 4u) * 10u + c1] = acc4_1;
    }
  }
  if (row0 + 5u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 5u) * 10u + c0] = acc5_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 5u) * 10u + c1] = acc5_1;
    }
  }
  if (row0 + 6u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 6u) * 10u + c0] = acc6_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 6u) * 10u + c1] = acc6_1;
    }
  }
  if (row0 + 7u < m) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 7u) * 10u + c0] = acc7_0;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 7u) * 10u + c1] = acc7_1;
    }
  }
}
