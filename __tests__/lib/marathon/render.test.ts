// renderMarathonApp: one assertion per field and per default.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthCheck, ServiceDefinition, SERVICE_DEFAULTS } from '../../../lib/catalog/types';
import { marathonAppId, renderMarathonApp } from '../../../lib/marathon/render';

const minimal: ServiceDefinition = {
  name: 'lamp',
  repo: 'acme/lamp',
  cpus: 0.25,
  mem: 128,
  instances: 2,
  smokeTest: './e2e.sh',
  approvers: ['user:a@example.com'],
};
const image = 'registry:5000/lamp:abc1234';
const app = renderMarathonApp(minimal, 'staging', { image });

describe('renderMarathonApp: fields', () => {
  it('id is /<env>/<name>', () => {
    expect(app.id).toBe('/staging/lamp');
    expect(marathonAppId('lamp', 'production')).toBe('/production/lamp');
  });
  it('cpus and mem pass through', () => {
    expect(app.cpus).toBe(0.25);
    expect(app.mem).toBe(128);
  });
  it('instances: one number for both environments', () => {
    expect(renderMarathonApp(minimal, 'production', { image }).instances).toBe(2);
  });
  it('instances: per environment', () => {
    const def = { ...minimal, instances: { staging: 1, production: 3 } };
    expect(renderMarathonApp(def, 'staging', { image }).instances).toBe(1);
    expect(renderMarathonApp(def, 'production', { image }).instances).toBe(3);
  });
  it('disk passes through', () => expect(renderMarathonApp({ ...minimal, disk: 10 }, 'staging', { image }).disk).toBe(10));
  it('the image is a Docker container image', () => expect(app.container?.docker).toEqual({ image, forcePullImage: false }));
  it('container type is DOCKER', () => expect(app.container?.type).toBe('DOCKER'));
  it('ports become bridge port mappings with dynamic host ports', () => {
    const def = {
      ...minimal,
      ports: [
        { name: 'http', containerPort: 8080 },
        { name: 'metrics', containerPort: 9100, servicePort: 10100, protocol: 'udp' as const },
      ],
    };
    expect(renderMarathonApp(def, 'staging', { image }).container?.portMappings).toEqual([
      { containerPort: 8080, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http' },
      { containerPort: 9100, hostPort: 0, servicePort: 10100, protocol: 'udp', name: 'metrics' },
    ]);
  });
  it('networking is container/bridge, never portDefinitions', () => {
    expect(app.networks).toEqual([{ mode: 'container/bridge' }]);
    expect(app.portDefinitions).toBeUndefined();
  });
  it('cmd passes through when set', () =>
    expect(renderMarathonApp({ ...minimal, cmd: 'node server.js' }, 'staging', { image }).cmd).toBe('node server.js'));
  it('env: DEPLOY_ENV plus the service env, keys sorted', () => {
    const env = renderMarathonApp({ ...minimal, env: { Z: '1', A: '2' } }, 'production', { image }).env;
    expect(env).toEqual({ A: '2', DEPLOY_ENV: 'production', Z: '1' });
    expect(Object.keys(env ?? {})).toEqual(['A', 'DEPLOY_ENV', 'Z']);
  });
  it('secrets: declared by name and referenced from env', () => {
    const r = renderMarathonApp({ ...minimal, secrets: { DB_PASSWORD: 'lamp/db' } }, 'staging', { image });
    expect(r.secrets).toEqual({ 'db-password': { source: 'lamp/db' } });
    expect(r.env?.DB_PASSWORD).toEqual({ secret: 'db-password' });
  });
  it('health check: the given fields', () => {
    const r = renderMarathonApp(
      {
        ...minimal,
        ports: [
          { name: 'a', containerPort: 1 },
          { name: 'b', containerPort: 2 },
        ],
        healthCheck: {
          path: '/ready',
          portIndex: 1,
          gracePeriodSeconds: 60,
          intervalSeconds: 10,
          timeoutSeconds: 2,
          maxConsecutiveFailures: 5,
        },
      },
      'staging',
      { image },
    );
    expect(r.healthChecks).toEqual([
      {
        protocol: 'HTTP',
        path: '/ready',
        portIndex: 1,
        gracePeriodSeconds: 60,
        intervalSeconds: 10,
        timeoutSeconds: 2,
        maxConsecutiveFailures: 5,
      },
    ]);
  });
  it('health check: TCP has no path', () => {
    expect(renderMarathonApp({ ...minimal, healthCheck: { protocol: 'TCP' } }, 'staging', { image }).healthChecks?.[0]).toEqual({
      protocol: 'TCP',
      portIndex: 0,
      gracePeriodSeconds: 30,
      intervalSeconds: 5,
      timeoutSeconds: 3,
      maxConsecutiveFailures: 3,
    });
  });
  it('health check: COMMAND carries the command and no port', () => {
    expect(
      renderMarathonApp({ ...minimal, healthCheck: { protocol: 'COMMAND', command: 'true' } }, 'staging', { image }).healthChecks?.[0],
    ).toEqual({
      protocol: 'COMMAND',
      command: { value: 'true' },
      gracePeriodSeconds: 30,
      intervalSeconds: 5,
      timeoutSeconds: 3,
      maxConsecutiveFailures: 3,
    });
  });
  it('health check: false means none', () =>
    expect(renderMarathonApp({ ...minimal, healthCheck: false }, 'staging', { image }).healthChecks).toBeUndefined());
  it('upgradeStrategy passes through', () => {
    expect(
      renderMarathonApp({ ...minimal, upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 } }, 'staging', { image })
        .upgradeStrategy,
    ).toEqual({ minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  });
  it('labels: the service labels plus c2c.service and c2c.environment, sorted', () => {
    const r = renderMarathonApp({ ...minimal, labels: { team: 'lights' } }, 'staging', { image });
    expect(r.labels).toEqual({ 'c2c.environment': 'staging', 'c2c.service': 'lamp', team: 'lights' });
    expect(Object.keys(r.labels)).toEqual(['c2c.environment', 'c2c.service', 'team']);
  });
  it('labels: stamp labels from the options win', () => {
    expect(renderMarathonApp(minimal, 'staging', { image, labels: { 'c2c.commit': 'abc' } }).labels['c2c.commit']).toBe('abc');
  });
  it('virtual host: marathon-lb labels, per environment', () => {
    const def = { ...minimal, virtualHost: { staging: 's.example.com', production: 'p.example.com' } };
    expect(renderMarathonApp(def, 'production', { image }).labels).toMatchObject({
      HAPROXY_GROUP: 'external',
      HAPROXY_0_VHOST: 'p.example.com',
    });
    expect(renderMarathonApp({ ...minimal, virtualHost: 'one.example.com' }, 'staging', { image }).labels.HAPROXY_0_VHOST).toBe(
      'one.example.com',
    );
  });
  it('constraints pass through', () => {
    expect(renderMarathonApp({ ...minimal, constraints: [['hostname', 'UNIQUE']] }, 'staging', { image }).constraints).toEqual([
      ['hostname', 'UNIQUE'],
    ]);
  });
  it('is deterministic (same input, same JSON, byte for byte)', () => {
    expect(JSON.stringify(renderMarathonApp(minimal, 'staging', { image }))).toBe(JSON.stringify(app));
  });
});

describe('renderMarathonApp: defaults', () => {
  it('disk defaults to 0', () => expect(app.disk).toBe(SERVICE_DEFAULTS.disk));
  it('ports default to one http port on 8080', () =>
    expect(app.container?.portMappings).toEqual([{ containerPort: 8080, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http' }]));
  it('health check defaults to HTTP /health on port index 0 with the default timings', () => {
    expect(app.healthChecks).toEqual([
      {
        protocol: 'HTTP',
        path: '/health',
        portIndex: 0,
        gracePeriodSeconds: 30,
        intervalSeconds: 5,
        timeoutSeconds: 3,
        maxConsecutiveFailures: 3,
      },
    ]);
  });
  it('upgradeStrategy defaults to 1/1 (no downtime)', () =>
    expect(app.upgradeStrategy).toEqual({ minimumHealthCapacity: 1, maximumOverCapacity: 1 }));
  it('env defaults to DEPLOY_ENV only', () => expect(app.env).toEqual({ DEPLOY_ENV: 'staging' }));
  it('no cmd, secrets or constraints unless given', () => {
    expect('cmd' in app).toBe(false);
    expect('secrets' in app).toBe(false);
    expect('constraints' in app).toBe(false);
  });
  it('no marathon-lb labels without a virtual host', () =>
    expect(app.labels).toEqual({ 'c2c.environment': 'staging', 'c2c.service': 'lamp' }));
});

describe('renderMarathonApp: health-check kinds', () => {
  const hc = (healthCheck: ServiceDefinition['healthCheck']) =>
    renderMarathonApp({ ...minimal, healthCheck }, 'staging', { image }).healthChecks;
  it('HealthCheck.http is the plain HTTP data', () =>
    expect(hc(HealthCheck.http('/ready', { portIndex: 0 }))).toEqual(hc({ protocol: 'HTTP', path: '/ready', portIndex: 0 })));
  it('HealthCheck.tcp renders TCP on its port, without a path', () =>
    expect(hc(HealthCheck.tcp({ intervalSeconds: 10 }))?.[0]).toEqual({
      protocol: 'TCP',
      portIndex: 0,
      gracePeriodSeconds: 30,
      intervalSeconds: 10,
      timeoutSeconds: 3,
      maxConsecutiveFailures: 3,
    }));
  it('HealthCheck.command renders the command, without a port or path', () =>
    expect(hc(HealthCheck.command('test -f ready'))?.[0]).toEqual({
      protocol: 'COMMAND',
      command: { value: 'test -f ready' },
      gracePeriodSeconds: 30,
      intervalSeconds: 5,
      timeoutSeconds: 3,
      maxConsecutiveFailures: 3,
    }));
  it('MESOS_HTTP keeps its path', () =>
    expect(hc({ protocol: 'MESOS_HTTP', path: '/h' })?.[0]).toMatchObject({ protocol: 'MESOS_HTTP', path: '/h' }));
});

describe('renderMarathonApp: an artifact (no Docker)', () => {
  const service: ServiceDefinition = { ...minimal, package: { kind: 'artifact', cmd: 'node server.js' }, build: 'make' };
  const artifact = { uri: 'https://storage.googleapis.com/b/artifacts/lamp/abc/0123/lamp.tar.gz', sha256: 'ab'.repeat(32) };
  const a = renderMarathonApp(service, 'staging', { artifact, labels: { 'c2c.commit': 'abc' } });
  const check = `echo '${'ab'.repeat(32)}  lamp.tar.gz' | sha256sum -c --status - || { echo 'c2c: lamp.tar.gz does not have the SHA-256 the plan pinned (${'ab'.repeat(32)}); not starting' >&2; exit 1; }`;
  it('cmd checks the fetched file against the pinned SHA-256, extracts it, then runs the package command', () =>
    expect(a.cmd).toBe(`${check} && tar -xf 'lamp.tar.gz' && node server.js`));
  it('args become the command after the check, each word quoted, with exec', () => {
    const r = renderMarathonApp({ ...minimal, package: { kind: 'artifact', args: ['./lamp', "--name=it's"] } }, 'staging', { artifact });
    expect(r.cmd).toBe(`${check} && tar -xf 'lamp.tar.gz' && exec './lamp' '--name=it'\\''s'`);
    expect('args' in r).toBe(false);
  });
  it('an executable is checked at its destPath and not extracted', () =>
    expect(
      renderMarathonApp({ ...minimal, package: { kind: 'artifact', cmd: './lamp', executable: true, destPath: 'lamp' } }, 'staging', {
        artifact,
      }).cmd,
    ).toBe(check.replace(/lamp\.tar\.gz/g, 'lamp') + ' && ./lamp'));
  it('fetch is the artifact URI, left as a file for the check (not extracted by the fetcher), not executable, cached', () =>
    expect(a.fetch).toEqual([{ uri: artifact.uri, extract: false, executable: false, cache: true }]));
  it('fetch options pass through', () =>
    expect(
      renderMarathonApp(
        { ...minimal, package: { kind: 'artifact', cmd: './lamp', extract: false, executable: true, cache: false, destPath: 'lamp' } },
        'staging',
        { artifact },
      ).fetch,
    ).toEqual([{ uri: artifact.uri, extract: false, executable: true, cache: false, destPath: 'lamp' }]));
  it('the check stops a task whose file has other bytes, before anything of it runs (sh, sha256sum, tar as on an agent)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c2c-artifact-check-'));
    try {
      writeFileSync(join(dir, 'lamp.tar.gz'), 'other bytes');
      const run = spawnSync('sh', ['-c', a.cmd!], { cwd: dir, encoding: 'utf8' });
      expect([run.status, run.stderr.trim()]).toEqual([
        1,
        `c2c: lamp.tar.gz does not have the SHA-256 the plan pinned (${'ab'.repeat(32)}); not starting`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('no container', () => expect('container' in a).toBe(false));
  it('host networking', () => expect(a.networks).toEqual([{ mode: 'host' }]));
  it('ports default to one http port definition (Marathon assigns $PORT_HTTP)', () =>
    expect(a.portDefinitions).toEqual([{ port: 0, protocol: 'tcp', name: 'http' }]));
  it('service ports and protocols pass through to portDefinitions', () =>
    expect(
      renderMarathonApp(
        {
          ...service,
          ports: [
            { name: 'http', servicePort: 10080 },
            { name: 'metrics', protocol: 'udp' },
          ],
        },
        'staging',
        {
          artifact,
        },
      ).portDefinitions,
    ).toEqual([
      { port: 10080, protocol: 'tcp', name: 'http' },
      { port: 0, protocol: 'udp', name: 'metrics' },
    ]));
  it('the checksum is a content label next to the stamps', () =>
    expect(a.labels).toEqual({
      'c2c.artifact-sha256': artifact.sha256,
      'c2c.commit': 'abc',
      'c2c.environment': 'staging',
      'c2c.service': 'lamp',
    }));
  it('health check, env, resources and upgrade strategy are the same as for an image', () => {
    const img = renderMarathonApp(minimal, 'staging', { image });
    expect(a.healthChecks).toEqual(img.healthChecks);
    expect(a.env).toEqual(img.env);
    expect([a.instances, a.cpus, a.mem, a.disk]).toEqual([img.instances, img.cpus, img.mem, img.disk]);
    expect(a.upgradeStrategy).toEqual(img.upgradeStrategy);
  });
  it('an image reference alone is refused, naming the flags to use', () =>
    expect(() => renderMarathonApp(service, 'staging', { image })).toThrow(
      "lamp deploys an artifact: render it with the artifact's URI and SHA-256, not an image",
    ));
  it('a checksum that is not 64 hex digits is refused', () =>
    expect(() => renderMarathonApp(service, 'staging', { artifact: { ...artifact, sha256: 'abc' } })).toThrow(
      "artifact of lamp: sha256 (\"abc\") must be the file's SHA-256, 64 lower-case hex digits ('sha256sum FILE')",
    ));
  it('an empty URI is refused', () =>
    expect(() => renderMarathonApp(service, 'staging', { artifact: { ...artifact, uri: '' } })).toThrow(
      'artifact of lamp: uri ("") must be the artifact\'s URI, e.g. https://storage.googleapis.com/<bucket>/artifacts/…',
    ));
});

describe('renderMarathonApp: an upstream image', () => {
  const pinned = `docker.io/library/nginx@sha256:${'c'.repeat(64)}`;
  const service: ServiceDefinition = { ...minimal, package: { kind: 'upstream-image', image: pinned } };
  it('runs the pinned image when no image is given', () =>
    expect(renderMarathonApp(service, 'staging', {}).container?.docker.image).toBe(pinned));
  it('an image given (a plan pinning it) wins', () =>
    expect(renderMarathonApp(service, 'staging', { image: 'other@sha256:1' }).container?.docker.image).toBe('other@sha256:1'));
  it('the Mesos containerizer runs the image when asked (same image, ports and network)', () => {
    const docker = renderMarathonApp(service, 'staging', {});
    const mesos = renderMarathonApp(
      { ...service, package: { kind: 'upstream-image', image: pinned, containerizer: 'MESOS' } },
      'staging',
      {},
    );
    expect(mesos.container?.type).toBe('MESOS');
    expect({ ...mesos, container: { ...mesos.container, type: 'DOCKER' } }).toEqual(docker);
  });
  it('the Docker containerizer by default', () => expect(renderMarathonApp(service, 'staging', {}).container?.type).toBe('DOCKER'));
  it('a built image needs its reference', () =>
    expect(() => renderMarathonApp(minimal, 'staging', {})).toThrow('lamp deploys an image: render it with the image reference'));
});
