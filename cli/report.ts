/**
 * `pipeline report [--to DIR] [--open]`: the report of each `report` stage of the spec, drawn from
 * whatever the store holds now — mid-run, after a failure, for the laps that have finished — without
 * running a stage and without taking the run lock (it only reads published entries, which are
 * whole by construction).
 *
 * @module
 */
import { type InputEntry, type Plan, publishedEntry, SpecError } from "../lib/engine/mod.ts";
import { drawReport, type ReportParams } from "../tasks/report.ts";
import { type CommonOpts, openPlan, print, userPath } from "./_common.ts";

/** Options of `pipeline report`. `{ file: "pipeline.yaml", set: [], to: "report", open: true }` */
export interface ReportOpts extends CommonOpts {
  to: string;
  open?: boolean;
}

/** The published entries of `ids`, and the ids that have none yet. */
async function published(
  plan: Plan,
  ids: readonly string[],
): Promise<{ found: InputEntry[]; absent: string[] }> {
  const found: InputEntry[] = [], absent: string[] = [];
  for (const id of ids) {
    const entry = await publishedEntry(plan, id);
    if (entry) found.push(entry);
    else absent.push(id);
  }
  return { found, absent };
}

/** Replace the report folder `dir` (only one this command wrote: it holds `report.html`) with `tmp`. */
async function replaceDir(tmp: string, dir: string): Promise<void> {
  const existing = await Deno.lstat(dir).then(() => true, () => false);
  if (existing) {
    const ours = await Deno.lstat(`${dir}/report.html`).then(() => true, () => false);
    if (!ours) throw new Error(`${dir} exists and is not a report folder: give another --to`);
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.rename(tmp, dir);
}

/** Draw the report of stage `id` into `dir`; a line saying what it shows. */
async function drawOne(plan: Plan, id: string, dir: string): Promise<string> {
  const stage = plan.stages.get(id)!.stage;
  const wanted = stage.inputs.evaluations ?? [];
  const { found, absent } = await published(plan, wanted);
  const truthId = stage.inputs.truth?.[0];
  const truth = truthId ? await publishedEntry(plan, truthId) : null;
  const priors = (await published(plan, stage.inputs.prior_samples ?? [])).found;
  const note = `Drawn by \`pipeline report\` at ${
    new Date().toISOString()
  } from the store: ${found.length} of ${wanted.length} evaluations finished${
    absent.length ? ` (not yet: ${absent.join(", ")})` : ""
  }.`;
  const tmp = `${dir}.partial-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    await drawReport(found, truth, priors, { ...stage.params as ReportParams, stageId: id, note }, {
      writeFile: (name, bytes) => Deno.writeFile(`${tmp}/${name}`, bytes),
      start: () => {},
      tick: () => {},
    });
    await replaceDir(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return `${dir}/report.html: ${found.length} of ${wanted.length} evaluations`;
}

/**
 * `pipeline report`: returns the exit code (0; 2 when the spec has no report stage; 1 when `--to` is
 * a folder this command did not write).
 *
 * @example
 * ```ts
 * await cmdReport({ file: "pipeline.yaml", set: [], to: "report" });
 * ```
 */
export async function cmdReport(opts: ReportOpts): Promise<number> {
  const plan = await openPlan(opts);
  const reports = plan.graph.order.filter((id) => plan.stages.get(id)!.stage.task.name === "report");
  if (!reports.length) {
    throw new SpecError([{ where: opts.file, message: "the spec has no stage of task report" }]);
  }
  const to = userPath(opts.to);
  const pages: string[] = [];
  for (const id of reports) {
    const dir = reports.length > 1 ? `${to}/${id}` : to;
    if (reports.length > 1) await Deno.mkdir(to, { recursive: true });
    try {
      print(await drawOne(plan, id, dir));
    } catch (e) {
      console.error(`report ${id}: ${(e as Error).message}`);
      return 1;
    }
    pages.push(`${dir}/report.html`);
  }
  if (opts.open) {
    const opener = Deno.build.os === "darwin"
      ? "open"
      : Deno.build.os === "windows"
      ? "explorer"
      : "xdg-open";
    for (const page of pages) {
      await new Deno.Command(opener, { args: [page] }).spawn().status.catch((e) =>
        console.error(`could not open ${page} with ${opener}: ${(e as Error).message}`)
      );
    }
  }
  return 0;
}
