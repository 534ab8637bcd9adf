/**
 * Terminal progress of incidents moving through the workflow: a spinner while states run (several at once
 * inside the Parallel state), and one ✔/✖ line with its duration when each state ends. In a non-TTY (CI,
 * pipes) it prints plain lines only. Choice and Pass states are instantaneous routing and are not shown.
 *
 * What it takes from a state event (state names, error names) is shown through `terminalText`, so no control
 * character reaches the terminal; a `label` function and `line` text are the caller's, already made safe.
 */
import { styleText } from 'node:util';
import ora, { type Ora } from 'ora';
import { allStates, readWorkflowDefinition } from '../workflow-definition.ts';
import type { StateEvent } from './step-functions.ts';
import { terminalText } from '../../functions/core/text.ts';

type Style = Parameters<typeof styleText>[0];

/** States worth a line: the ones that do work or wait. */
const visibleStates = (): Set<string> =>
  new Set([...allStates(readWorkflowDefinition())].filter(([, s]) => ['Task', 'Parallel', 'Wait', 'Fail'].includes(s.Type)).map(([name]) => name));

export const formatMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #visible = visibleStates();
  readonly #running = new Map<string, string>(); // key → label
  readonly #spinner: Ora | undefined;
  readonly #label: (e: StateEvent) => string;

  constructor(opts: { stream?: NodeJS.WriteStream; label?: (e: StateEvent) => string } = {}) {
    this.#stream = opts.stream ?? process.stdout;
    this.#tty = Boolean(this.#stream.isTTY) && !process.env.CI;
    this.#spinner = this.#tty ? ora({ stream: this.#stream, discardStdin: false }) : undefined;
    this.#label = opts.label ?? ((e) => terminalText(e.state));
  }

  #style(format: Style, text: string): string {
    return styleText(format, text, { stream: this.#stream });
  }

  /** Prints a line without tearing the spinner. */
  line(text: string): void {
    const spinning = this.#spinner?.isSpinning;
    if (spinning) this.#spinner!.clear();
    this.#stream.write(`${text}\n`);
    if (spinning) this.#spinner!.render();
  }

  handle(e: StateEvent): void {
    if (!this.#visible.has(e.state)) return;
    const key = `${e.executionArn}|${e.state}`;
    const label = this.#label(e);
    switch (e.type) {
      case 'entered':
        this.#running.set(key, label);
        break;
      case 'succeeded':
        this.#running.delete(key);
        this.line(`${this.#style('green', '✔')} ${label}  ${this.#style('dim', formatMs(e.durationMs ?? 0))}`);
        break;
      case 'failed':
        this.#running.delete(key);
        this.line(`${this.#style('red', '✖')} ${label}  ${this.#style('dim', formatMs(e.durationMs ?? 0))}  ${this.#style('red', terminalText(e.error ?? 'failed'))}`);
        break;
      case 'caught':
        this.line(`  ${this.#style('yellow', '↳')} ${this.#style('dim', `${terminalText(e.error ?? 'error')} caught: the workflow takes its Catch route`)}`);
        break;
    }
    this.#refresh();
  }

  #refresh(): void {
    if (!this.#spinner) return;
    if (this.#running.size === 0) {
      if (this.#spinner.isSpinning) this.#spinner.stop();
      return;
    }
    const text = [...this.#running.values()].join(this.#style('dim', ' · '));
    if (this.#spinner.isSpinning) this.#spinner.text = text;
    else this.#spinner.start(text);
  }

  stop(): void {
    this.#running.clear();
    this.#spinner?.stop();
  }
}
