/** Settles with `p`, or with `onTimeout()` after `ms` (the timer is cleared either way; `p` itself is not cancelled). */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => T | Promise<T>): Promise<T> {
  let t: NodeJS.Timeout;
  const timer = new Promise<T>((resolve, reject) => {
    t = setTimeout(() => Promise.resolve().then(onTimeout).then(resolve, reject), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}
