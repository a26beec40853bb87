/**
 * Ctrl-C for a command that records its work (a run, a sweep): the first stops it
 * cleanly (frames in flight finish, the file says interrupted) and says so; later ones
 * are held too, since Node's default would kill the process before the file says so.
 */
export function holdCtrlC(what: 'run' | 'sweep'): { signal: AbortSignal; release(): void } {
  const ac = new AbortController();
  const onSigint = (): void => {
    // On a line of its own: a progress bar may be drawn on the current one.
    process.stderr.write(ac.signal.aborted
      ? `\nevsim: still stopping — the ${what} ends once its frames in flight are done\n`
      : `\nevsim: stopping — finishing the frames in flight and marking the ${what} interrupted\n`);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return {
    signal: ac.signal,
    // After a stop, later Ctrl-Cs stay held until the process has exited with 130.
    release: () => {
      if (!ac.signal.aborted) process.removeListener('SIGINT', onSigint);
    },
  };
}
