@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z;
  let aa = 0u;
  let bb = (0u) / 4u;
  let cc = z * 2560u;
  let row0 = wid.y * 8u;
  let c0 = wid.x * 16u + lid.x;
  let c1 = c0 + 8u;
  let lc0 = min(c0, 9u);
  let lc1 = min(c1, 9u);
  let ra0 = aa + min(row0 + 0u, 63u) * 48u;
  let ra1 = aa + min(row0 + 1u, 63u) * 48u;
  let ra2 = aa + min(row0 + 2u, 63u) * 48u;
  let ra3 = aa + min(row0 + 3u, 63u) * 48u;
  let ra4 = aa + min(row0 + 4u, 63u) * 48u;
  let ra5 = aa + min(row0 + 5u, 63u) * 48u;
  let ra6 = aa + min(row0 + 6u, 63u) * 48u;
  let ra7 = aa + min(row0 + 7u, 63u) * 48u;
  var acc00 = vec4<f32>(0.0f);
  var acc01 = vec4<f32>(0.0f);
  var acc10 = vec4<f32>(0.0f);
  var acc11 = vec4<f32>(0.0f);
  var acc20 = vec4<f32>(0.0f);
  var acc21 = vec4<f32>(0.0f);
  var acc30 = vec4<f32>(0.0f);
  var acc31 = vec4<f32>(0.0f);
  var acc40 = vec4<f32>(0.0f);
  var acc41 = vec4<f32>(0.0f);
  var acc50 = vec4<f32>(0.0f);
  var acc51 = vec4<f32>(0.0f);
  var acc60 = vec4<f32>(0.0f);
  var acc61 = vec4<f32>(0.0f);
  var acc70 = vec4<f32>(0.0f);
  var acc71 = vec4<f32>(0.0f);
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
    acc00 += a0 * b0;
    acc01 += a0 * b1;
    acc10 += a1 * b0;
    acc11 += a1 * b1;
    acc20 += a2 * b0;
    acc21 += a2 * b1;
    acc30 += a3 * b0;
    acc31 += a3 * b1;
    acc40 += a4 * b0;
    acc41 += a4 * b1;
    acc50 += a5 * b0;
    acc51 += a5 * b1;
    acc60 += a6 * b0;
    acc61 += a6 * b1;
    acc70 += a7 * b0;
    acc71 += a7 * b1;
  }
  if (row0 + 0u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 0u) * 10u + c0] = acc00;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 0u) * 10u + c1] = acc01;
    }
  }
  if (row0 + 1u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 1u) * 10u + c0] = acc10;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 1u) * 10u + c1] = acc11;
    }
  }
  if (row0 + 2u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 2u) * 10u + c0] = acc20;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 2u) * 10u + c1] = acc21;
    }
  }
  if (row0 + 3u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 3u) * 10u + c0] = acc30;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 3u) * 10u + c1] = acc31;
    }
  }
  if (row0 + 4u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 4u) * 10u + c0] = acc40;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 4u) * 10u + c1] = acc41;
    }
  }
  if (row0 + 5u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 5u) * 10u + c0] = acc50;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 5u) * 10u + c1] = acc51;
    }
  }
  if (row0 + 6u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 6u) * 10u + c0] = acc60;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 6u) * 10u + c1] = acc61;
    }
  }
  if (row0 + 7u < 64u) {
    if (c0 < 10u) {
      c[cc / 4u + (row0 + 7u) * 10u + c0] = acc70;
    }
    if (c1 < 10u) {
      c[cc / 4u + (row0 + 7u) * 10u + c1] = acc71;
    }
  }
}
