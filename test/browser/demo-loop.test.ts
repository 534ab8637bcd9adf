/// <reference lib="dom" />
/**
 * The demo loop in a real browser, as a new user runs it, with no alert sent by hand: the demo page injects "Error
 * rate" into the live world → the anomaly detector opens an incident (source `detector`, environment `live`) → the
 * operator follows it from the demo page's newest incidents, approves the rollback on the incident page → RESOLVED
 * with its report. Then the other end of the loop: "Dependency down", rejected on the page → ESCALATED → the Resolve
 * form records what people found, which the list's production accuracy counts.
 *
 * Time: the world runs on the wall clock, and the detector needs a few minutes of the fault. Instead of waiting them,
 * the test moves what the page injected FAULT_MINUTES into the past (the fault and the change that caused it, in the
 * world's scenario: the world then reads as it will FAULT_MINUTES from now) and runs the detector once (`twin.detect()`,
 * what the timer of `autopilot serve` runs every minute).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { LIVE_WORLD_ID, LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { ensureLiveWorld } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';
import { DESKTOP, type PageWatch, launchBrowser, screenshot, watchPage } from './browser.ts';

/** Enough world minutes for any preset's ramp plus the detector's confirmation. */
const FAULT_MINUTES = 8;

describe('the demo loop in Chromium', () => {
  let twin: Twin;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let doc: DynamoDBDocumentClient;
  let worlds: DynamoWorldStore;

  beforeAll(async () => {
    [twin, browser] = await Promise.all([startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false, approvalTimeoutSeconds: 600 }), launchBrowser()]);
    api = new ApiClient(twin.url, twin.secret);
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
    worlds = new DynamoWorldStore(doc, TABLE_NAME);
    // What `autopilot serve` does at start; created an hour ago, so that a fault moved into the past is still after its start.
    await ensureLiveWorld(twin, new Date(Date.now() - 3_600_000));
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    watch = watchPage(page);
  });
  afterAll(async () => {
    doc?.destroy();
    await browser?.close();
    await twin?.stop();
  });

  /** Moves every fault and change that starts at or after the newest fault's start FAULT_MINUTES earlier. */
  const backdateInjected = async () => {
    const world = (await worlds.getWorld(LIVE_WORLD_ID))!;
    const since = Math.max(...world.scenario.faults.map((f) => f.startsAt)) - 1 / 60;
    const back = <T extends number>(m: T) => (m >= since ? m - FAULT_MINUTES : m);
    await worlds.putWorld({
      ...world,
      scenario: {
        ...world.scenario,
        faults: world.scenario.faults.map((f) => ({ ...f, startsAt: back(f.startsAt) })),
        changes: world.scenario.changes.map((c) => ({ ...c, deployedAt: back(c.deployedAt) })),
      },
    });
  };

  /** Injects a preset from the demo page, lets the fault last FAULT_MINUTES in the world, runs the detector; the incident it opened. */
  const injectAndDetect = async (title: string): Promise<string> => {
    await page.goto(`${twin.consoleUrl}#/demo`);
    await page.getByRole('heading', { name: 'Demo: break the live world', level: 1 }).waitFor();
    await page.getByRole('button', { name: new RegExp(`^Inject ${title} into`) }).click();
    // The fault is listed as active, with its End button.
    await page.getByRole('button', { name: /^End / }).first().waitFor({ timeout: 15_000 });
    await backdateInjected();
    const report = await twin.detect();
    const opened = report.targets.flatMap((t) => t.outcomes).find((o) => o.action === 'opened');
    expect(opened, JSON.stringify(report)).toBeDefined();
    // One fault, one incident: its callers, anomalous too, are grouped into it.
    expect(report.opened, JSON.stringify(report)).toBe(1);
    return opened!.incidentId!;
  };

  it('opens an incident from an injected "Error rate" with no alert sent, and follows it from the demo page to RESOLVED', async () => {
    const incidentId = await injectAndDetect('Error rate');
    const opened = (await api.getIncident(incidentId)).incident;
    const injected = ((await (await fetch(`${twin.url}/admin/faults`)).json()) as { faults: { preset?: string; service: string; causedBy?: string }[] }).faults.find((f) => f.preset === 'error-rate')!;
    // Opened for the service the fault is in (the deepest anomalous one), not for one of its callers.
    expect(opened).toMatchObject({ source: 'detector', environment: LIVE_WORLD_ID, service: injected.service });
    // The demo page's newest incidents pick it up (polled), and lead to it.
    const row = page.locator(`tr[data-incident="${incidentId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await screenshot(page, 'demo-detected-1280');
    await row.getByRole('link').click();
    await page.locator('#incident-title').waitFor();
    // The workflow investigates and asks for approval; the operator approves on the page.
    await page.getByRole('heading', { name: 'Approval pending' }).waitFor({ timeout: 45_000 });
    await page.getByLabel('Your name').fill('Demo Operator');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.incident-header .status-resolved').waitFor({ timeout: 60_000 });
    await page.locator('.report h1').waitFor();
    const view = await api.getIncident(incidentId);
    expect(view.incident.status).toBe('RESOLVED');
    expect(view.incident.approval).toMatchObject({ status: 'APPROVED', approver: 'Demo Operator' });
    // The root cause named the deploy the preset recorded, and the rollback undid it.
    expect(injected.causedBy).toBeDefined();
    expect(JSON.stringify(view.agents?.rootcause?.output)).toContain(injected.causedBy!);
    expect(watch.errors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    await screenshot(page, 'demo-loop-resolved-1280');
  });

  it('records on the Resolve form what people found about an escalated incident, and counts it in the production accuracy', async () => {
    const before = await api.summary();
    const incidentId = await injectAndDetect('Dependency down');
    await page.goto(`${twin.consoleUrl}#/incidents/${incidentId}`);
    // Rejected on the page: handed to people.
    await page.getByRole('heading', { name: 'Approval pending' }).waitFor({ timeout: 45_000 });
    await page.getByLabel('Your name').fill('Demo Operator');
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.locator('.incident-header .status-escalated').waitFor({ timeout: 45_000 });
    // Act: the Resolve form
    const faults = (await (await fetch(`${twin.url}/admin/faults`)).json()) as { faults: { preset?: string; service: string }[] };
    const dependency = faults.faults.find((f) => f.preset === 'dependency-down')!.service;
    await page.getByRole('heading', { name: 'Resolve' }).waitFor();
    await page.getByLabel('Cause: service').fill(dependency);
    await page.getByLabel('Cause: category').fill('dependency');
    await page.getByLabel('Cause: what happened').fill(`${dependency} refused connections <script>alert(1)</script>`);
    await page.getByLabel('Fix').fill('failed over to the standby provider');
    await page.getByRole('button', { name: 'Record the resolution' }).click();
    // Assess: the record replaces the form; the incident is RESOLVED by people; the summary graded it
    await page.getByRole('heading', { name: 'Resolution' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.resolution').textContent()).toContain('<script>alert(1)</script>');
    const view = await api.getIncident(incidentId);
    expect(view.incident.status).toBe('RESOLVED');
    expect(view.resolution).toMatchObject({ cause: { service: dependency, category: 'dependency' }, fix: 'failed over to the standby provider' });
    const after = await api.summary();
    expect(after.accuracy.graded).toBe(before.accuracy.graded + 1);
    await page.goto(`${twin.consoleUrl}#/incidents`);
    await page.getByText(/Production accuracy/).waitFor();
    expect(await page.getByText(/Production accuracy/).textContent()).toMatch(new RegExp(`of ${after.accuracy.graded} resolved`));
    expect(watch.dialogs).toEqual([]);
    await screenshot(page, 'demo-resolved-by-people-1280');
  });
});
