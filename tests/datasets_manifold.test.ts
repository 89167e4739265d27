/**
 * Manifold data set: deterministic per seed (bit-exact), different seeds differ, every feature
 * spans exactly [−2, 2] (1e-6), the curve is smooth (neighbouring latents give nearby points:
 * max jump between z-sorted neighbours < 0.2 for 4096 samples of a 1-D manifold).
 */
import { smoothManifold } from "../datasets/manifold.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("datasets_manifold: deterministic, rescaled to [-2, 2], smooth", () => {
  const a = smoothManifold({ samples: 4096, features: 5, manifoldDim: 1, seed: 3 });
  const b = smoothManifold({ samples: 4096, features: 5, manifoldDim: 1, seed: 3 });
  const c = smoothManifold({ samples: 4096, features: 5, manifoldDim: 1, seed: 4 });
  assert(a.x.shape.join() === "4096,5" && a.z.shape.join() === "4096,1", `shapes ${a.x.shape} ${a.z.shape}`);
  assert(a.x.data.every((v, i) => v === b.x.data[i]), "same seed gives identical data");
  assert(a.x.data.some((v, i) => v !== c.x.data[i]), "different seeds differ");
  for (let j = 0; j < 5; j++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < 4096; i++) {
      lo = Math.min(lo, a.x.data[i * 5 + j]), hi = Math.max(hi, a.x.data[i * 5 + j]);
    }
    assert(Math.abs(lo + 2) < 1e-6 && Math.abs(hi - 2) < 1e-6, `feature ${j} spans [${lo}, ${hi}]`);
  }
  const order = Array.from({ length: 4096 }, (_, i) => i).sort((i, j) => a.z.data[i] - a.z.data[j]);
  let jump = 0;
  for (let k = 1; k < order.length; k++) {
    let s = 0;
    for (let j = 0; j < 5; j++) s += (a.x.data[order[k] * 5 + j] - a.x.data[order[k - 1] * 5 + j]) ** 2;
    jump = Math.max(jump, Math.sqrt(s));
  }
  assert(jump < 0.2, `largest jump between neighbouring latents ${jump}`);
});

Deno.test("datasets_manifold: 2-D manifolds and options", () => {
  const m = smoothManifold({ samples: 1000, features: 3, manifoldDim: 2, terms: 4, seed: 1 });
  assert(m.x.shape.join() === "1000,3" && m.z.shape.join() === "1000,2", "shapes");
  assert(m.x.data.every(Number.isFinite), "finite");
  let threw = false;
  try {
    smoothManifold({ samples: 0, seed: 1 });
  } catch (e) {
    threw = /samples/.test((e as Error).message);
  }
  assert(threw, "invalid sample count rejected");
});
