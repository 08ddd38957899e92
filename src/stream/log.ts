// One JSON object per line on stderr: what log collectors (journald,
// Kubernetes, Loki) take apart without a parser of their own. stdout stays
// free for a command's own output.

export type Level = 'info' | 'warn' | 'error';

export type Log = (level: Level, event: string, fields?: Record<string, unknown>) => void;

/** A log whose every line carries `context` (the consumer's name, say) after the time, level and event. */
export function jsonLog(context: Record<string, unknown>, write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  return (level, event, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...context, ...fields })}\n`);
}

/** An error's first line, for a log field. */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];
