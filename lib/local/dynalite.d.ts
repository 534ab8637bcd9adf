/** dynalite 4 ships no types; this covers what the laptop twin uses. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    /** How long a new table stays CREATING (default 500 ms). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
    ssl?: boolean;
  }

  /** Returns an http.Server speaking the DynamoDB JSON 1.0 protocol; call `listen` on it. */
  const dynalite: (options?: DynaliteOptions) => Server;
  export default dynalite;
}
