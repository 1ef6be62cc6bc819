@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;

var<workgroup> as_: array<array<f32, 64>, 16>;
var<workgroup> bs_: array<array<f32, 64>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z;
  let aa = z * 600u;
  let bb = 0u;
  let cc = z * 1500u;
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < 20u; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let e = t * 4u + l;
      let kk = e / 64u;
      let x = e % 64u;
      let gk = k0 + kk;
      as_[kk][x] = select(0.0f, a[aa + (min(row0 + x, 29u)) * 20u + min(gk, 19u)], row0 + x < 30u && gk < 20u);
      bs_[kk][x] = select(0.0f, b[bb + (min(col0 + x, 49u)) * 20u + min(gk, 19u)], col0 + x < 50u && gk < 20u);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = as_[kk][lid.y * 4u + i];
        bv[i] = bs_[kk][lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (r < 30u && col < 50u) {
        c[cc + r * 50u + col] = acc[i][j];
      }
    }
  }
}
