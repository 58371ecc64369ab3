/**
 * Redrive's starts under admission control (docs/adr/0009-admission-control.md): before each
 * start, the registration takes its calls (shared/admission.ts `demand`) from the pipeline's EC2
 * budget, the same item of the admission table ingest takes from. When admission says wait, the
 * command waits as a deferred message would: the delay admission returned, then (its turn come,
 * read without writing: `turns`) it asks again with its reservation. Up to ten registrations are
 * asked about at once, as ingest asks about a batch of ten messages, so the command never holds
 * more turns in the schedule than one batch of ingest would.
 *
 * An abort (Ctrl-C) is looked at before every start, never during one: a registration is started
 * or not, and those admitted but not started give their tokens back.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type Demand, type Reservation, sumDemands } from '#shared/admission.ts';
import type { Admission } from '#shared/aws/admission.ts';

/** What a start came to: a duplicate (an attempt running or succeeded already) gives its tokens back. */
export type StartOutcome = 'started' | 'duplicate' | 'failed';

/** Where the command stands while it waits for tokens. */
export interface WaitProgress {
  started: number;
  /** Registrations neither started nor given up yet. */
  waiting: number;
  /** Until the next registration's turn, whole seconds. */
  waitSeconds: number;
}

export interface NotStarted<T> {
  item: T;
  why: string;
}

export interface AdmittedStartsOptions {
  admission: Admission;
  signal?: AbortSignal | undefined;
  onWait?: ((progress: WaitProgress) => void) | undefined;
  /** Told when tokens could not be given back (the budget is then short of them until it refills). */
  warn?: ((line: string) => void) | undefined;
  /** What a failed admission call says (a default: its message). */
  explain?: (error: unknown) => string;
  /** Milliseconds; tests move their own. */
  now?: () => number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The registrations asked about at once: an SQS batch's worth, as ingest asks. */
export const ADMISSION_BATCH = 10;

/** What was said when Ctrl-C stopped the command before a registration's start. */
export const INTERRUPTED = 'interrupted before its start';

const sleepFor = (ms: number, signal?: AbortSignal) =>
  delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/** The progress line redrive prints on stderr while it waits. */
export function waitLine({ started, waiting, waitSeconds }: WaitProgress): string {
  return `redrive: ${started} started, ${waiting} waiting for EC2 request tokens (admission control); next turn in ${waitSeconds} s`;
}

interface Asking {
  index: number;
  reservation?: Reservation;
  /** Real ms: when to ask (again). */
  readyAt: number;
}

/**
 * Starts every item in order, each once admission control has its demand's tokens; returns
 * the items not started (interrupted, or admission control failed), with why. `start` is called
 * at most once per item.
 */
export async function startAdmitted<T>(
  items: readonly T[],
  demandOf: (item: T) => Demand,
  start: (item: T) => Promise<StartOutcome>,
  options: AdmittedStartsOptions,
): Promise<NotStarted<T>[]> {
  const { admission, signal, onWait } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const explain = options.explain ?? ((error: unknown) => String((error as Error).message ?? error));
  const notStarted: NotStarted<T>[] = [];
  let asking: Asking[] = [];
  let next = 0;
  let started = 0;
  const giveUp = (why: string) => {
    for (const { index } of asking) notStarted.push({ item: items[index] as T, why });
    for (; next < items.length; next++) notStarted.push({ item: items[next] as T, why });
    asking = [];
  };

  for (;;) {
    while (asking.length < ADMISSION_BATCH && next < items.length) asking.push({ index: next++, readyAt: 0 });
    if (asking.length === 0) break;
    if (signal?.aborted) {
      giveUp(INTERRUPTED);
      break;
    }
    const t = now();
    let ready = asking.filter((entry) => entry.readyAt <= t);
    if (ready.length === 0) {
      const wakeAt = Math.min(...asking.map((entry) => entry.readyAt));
      onWait?.({
        started,
        waiting: asking.length + items.length - next,
        waitSeconds: Math.ceil((wakeAt - t) / 1000),
      });
      await sleep(wakeAt - t, signal);
      continue;
    }
    let decisions: Awaited<ReturnType<Admission['admit']>>;
    try {
      // Back from waiting: a turn postponed meanwhile (EC2 throttled someone: the clock was cut)
      // means waiting again, asking nothing, as ingest's early returns do.
      const back = ready.filter((entry) => entry.reservation !== undefined);
      if (back.length > 0) {
        const delays = await admission.turns(back.map((entry) => entry.reservation as Reservation));
        const at = now();
        for (const [i, entry] of back.entries())
          if ((delays[i] ?? 0) > 0) entry.readyAt = at + (delays[i] ?? 0) * 1000;
        ready = ready.filter((entry) => entry.readyAt <= t);
        if (ready.length === 0) continue;
      }
      decisions = await admission.admit(
        ready.map((entry) => ({ demand: demandOf(items[entry.index] as T), reservation: entry.reservation })),
      );
    } catch (error) {
      giveUp(`admission control failed: ${explain(error)}`);
      break;
    }
    const decidedAt = now();
    const giveBack: Demand[] = [];
    for (const [i, entry] of ready.entries()) {
      const decision = decisions[i];
      if (decision && decision.delaySeconds > 0) {
        entry.reservation = decision.reservation;
        entry.readyAt = decidedAt + decision.delaySeconds * 1000;
        continue;
      }
      asking = asking.filter((other) => other !== entry);
      const item = items[entry.index] as T;
      if (signal?.aborted) {
        // Admitted, never started: its tokens go back.
        giveBack.push(demandOf(item));
        notStarted.push({ item, why: INTERRUPTED });
        continue;
      }
      const outcome = await start(item);
      if (outcome === 'started') started += 1;
      // A duplicate gives back what it took, as in ingest.
      else if (outcome === 'duplicate') giveBack.push(demandOf(item));
    }
    if (giveBack.length > 0)
      await admission.refund(sumDemands(giveBack)).catch((error: unknown) => {
        options.warn?.(
          `could not give back the tokens of ${giveBack.length} registrations not started: ${explain(error)}`,
        );
      });
  }
  return notStarted;
}
