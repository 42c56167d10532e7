// The pure parts of a two-colour rollout: marathon-lb's labels on a colour app, the step plan, and HAProxy's stats
// CSV read the way marathon-lb's zdd.py reads it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceDefinition } from '../../../lib/catalog';
import {
  backendServers,
  colourApp,
  countsSince,
  currentStep,
  groupBackend,
  isDrained,
  isServing,
  parseHaproxyStats,
  responseCounts,
  rolloutSteps,
  serverName,
  trafficSplit,
} from '../../../lib/deploy/rollout';
import { renderMarathonApp } from '../../../lib/marathon/render';

const shop: ServiceDefinition = {
  name: 'shop',
  repo: 'acme/shop',
  cpus: 0.1,
  mem: 64,
  instances: 10,
  ports: [{ name: 'http', containerPort: 8080, servicePort: 10000 }],
  virtualHost: 'shop.example.com',
  strategy: { kind: 'canary', altPort: 10001, steps: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@example.com'],
};

// marathon-lb's own example of a colour app (tests/zdd_app_blue_marathon1.5.json, vendored).
const example = JSON.parse(
  readFileSync(join(__dirname, '../../../reference/marathon-api/marathon-lb/zdd_app_blue_marathon1.5.json'), 'utf8'),
).apps[0] as { id: string; labels: Record<string, string>; container: { portMappings: { servicePort: number }[] } };

describe('colourApp: the labels zdd.py puts on the app it creates', () => {
  const base = renderMarathonApp(shop, 'production', { image: 'reg/shop:2' });
  const app = colourApp({
    base,
    colour: 'green',
    publicPort: 10000,
    altPort: 10001,
    servicePort: 10001,
    startedAt: '2026-12-07T10:00:00.000Z',
    targetInstances: 10,
    instances: 1,
  });
  it('has every deployment label of marathon-lb’s example, and no other HAPROXY_DEPLOYMENT_ label', () => {
    const keys = (l: Record<string, string>) =>
      Object.keys(l).filter((k) => k.startsWith('HAPROXY_DEPLOYMENT_') || k === 'HAPROXY_APP_ID' || k === 'HAPROXY_0_PORT');
    expect(keys(app.labels).sort()).toEqual([...keys(example.labels), 'HAPROXY_DEPLOYMENT_NEW_INSTANCES'].sort());
  });
  it('id is the base id with the colour, as zdd.py set_app_ids', () => {
    expect(app.id).toBe('/production/shop-green');
    expect(example.id).toBe(`/${example.labels.HAPROXY_APP_ID}-${example.labels.HAPROXY_DEPLOYMENT_COLOUR}`);
    expect(app.labels.HAPROXY_APP_ID).toBe('/production/shop');
  });
  it('group, colour, start, target, alternate port and public port', () => {
    expect(app.labels.HAPROXY_DEPLOYMENT_GROUP).toBe('production-shop');
    expect(app.labels.HAPROXY_DEPLOYMENT_COLOUR).toBe('green');
    expect(app.labels.HAPROXY_DEPLOYMENT_STARTED_AT).toBe('2026-12-07T10:00:00.000Z');
    expect(app.labels.HAPROXY_DEPLOYMENT_TARGET_INSTANCES).toBe('10');
    expect(app.labels.HAPROXY_DEPLOYMENT_ALT_PORT).toBe('10001');
    expect(app.labels.HAPROXY_0_PORT).toBe('10000');
    expect(app.labels.HAPROXY_DEPLOYMENT_NEW_INSTANCES).toBe('0');
  });
  it('keeps the service’s own marathon-lb labels (group, virtual host)', () => {
    expect(app.labels.HAPROXY_GROUP).toBe('external');
    expect(app.labels.HAPROXY_0_VHOST).toBe('shop.example.com');
  });
  it('holds the colour’s service port and the step’s instances', () => {
    expect(app.container?.portMappings?.[0].servicePort).toBe(10001);
    expect(app.instances).toBe(1);
    // The example holds the public port in HAPROXY_0_PORT and a service port of its own.
    expect(String(example.container.portMappings[0].servicePort)).toBe(example.labels.HAPROXY_0_PORT);
  });
  it('every label value is a string (Marathon rejects others)', () => {
    for (const v of Object.values(app.labels)) expect(typeof v).toBe('string');
  });
});

describe('rolloutSteps', () => {
  it('canary 10/50/100 of 10 instances: 1, 5, 10, a promote between steps by default', () =>
    expect(rolloutSteps(shop.strategy!, 10)).toEqual([
      { index: 1, percent: 10, newInstances: 1, pause: 'promote' },
      { index: 2, percent: 50, newInstances: 5, pause: 'promote' },
      { index: 3, percent: 100, newInstances: 10, pause: 'none' },
    ]));
  it('rounds a share up to at least one task and merges steps that round alike', () =>
    expect(
      rolloutSteps({ kind: 'canary', altPort: 1, steps: [{ percent: 10 }, { percent: 20, pause: { minutes: 2 } }, { percent: 100 }] }, 3),
    ).toEqual([
      { index: 1, percent: 20, newInstances: 1, pause: { minutes: 2 } },
      { index: 2, percent: 100, newInstances: 3, pause: 'none' },
    ]));
  it('blue/green is one step to 100 %', () =>
    expect(rolloutSteps({ kind: 'blueGreen', altPort: 1 }, 4)).toEqual([{ index: 1, percent: 100, newInstances: 4, pause: 'none' }]));
  it('currentStep: the last step whose count the new colour holds', () => {
    const steps = rolloutSteps(shop.strategy!, 10);
    expect(currentStep(steps, 0)).toBeNull();
    expect(currentStep(steps, 3)?.index).toBe(1);
    expect(currentStep(steps, 10)?.index).toBe(3);
  });
  it('trafficSplit', () => {
    expect(trafficSplit(1, 9)).toEqual({ newPercent: 10, oldPercent: 90 });
    expect(trafficSplit(0, 0)).toEqual({ newPercent: 0, oldPercent: 0 });
  });
});

// The head and rows HAProxy 2.6 writes at /haproxy?stats;csv (columns cut after the ones read; HAProxy ends every
// line with a comma).
const HEAD =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,';
const row = (px: string, sv: string, o: { qcur?: number; scur?: number; status: string; econ?: number; h2?: number; h5?: number }) =>
  `${px},${sv},${o.qcur ?? 0},0,${o.scur ?? 0},0,,0,0,0,,0,,${o.econ ?? 0},0,0,0,${o.status},1,1,0,0,0,0,0,,1,2,1,,0,,2,0,,0,L7OK,200,1,0,${o.h2 ?? 0},0,0,${o.h5 ?? 0},0,`;
const CSV = [
  HEAD,
  row('stats', 'FRONTEND', { status: 'OPEN' }),
  row('production-shop_10000', '127_0_0_1_31001', { status: 'UP', h2: 90, h5: 10 }),
  row('production-shop_10000', '127_0_0_1_31002', { status: 'MAINT', scur: 1 }),
  row('production-shop_10000', '127_0_0_1_31003', { status: 'MAINT' }),
  row('production-shop_10000', 'BACKEND', { status: 'UP' }),
  '',
].join('\n');

describe('HAProxy stats, read as zdd.py reads them', () => {
  const rows = parseHaproxyStats(CSV);
  const servers = backendServers(rows, groupBackend('production-shop', 10000));
  it('keeps the servers of the group’s backend only', () =>
    expect(servers.map((r) => r.svname)).toEqual(['127_0_0_1_31001', '127_0_0_1_31002', '127_0_0_1_31003']));
  it('draining is MAINT; drained is MAINT without queued requests or sessions', () => {
    expect(servers.map(isDrained)).toEqual([false, false, true]);
    expect(servers.map(isServing)).toEqual([true, false, false]);
  });
  it('counts responses and errors of the given servers', () =>
    expect(responseCounts(rows, new Set(['127_0_0_1_31001']))).toEqual({ total: 100, errors: 10 }));
  it('counts since a baseline, from zero after a reload', () => {
    expect(countsSince({ total: 40, errors: 1 }, { total: 100, errors: 10 })).toEqual({ total: 60, errors: 9 });
    expect(countsSince({ total: 400, errors: 1 }, { total: 100, errors: 10 })).toEqual({ total: 100, errors: 10 });
  });
  it('names servers as marathon-lb does', () => {
    expect(serverName('127.0.0.1', '127.0.0.1', 31001)).toBe('127_0_0_1_31001');
    expect(serverName('agent-1.local', '10.0.0.5', 80)).toBe('agent-1_local_10_0_0_5_80');
  });
  it('refuses what is not a stats CSV', () => expect(() => parseHaproxyStats('<html>')).toThrow(/not a stats CSV/));
});
