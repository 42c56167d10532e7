/**
 * The body of `GET /v2/info` (SEMANTICS.md §13): what a Marathon 1.10 leader reports about itself, with the values this
 * server runs with (one local "master", no ZooKeeper). Only fields of Marathon's `MarathonInfo` RAML type.
 */
import { JsonObject } from './json';

/** What `/v2/info` depends on. */
export interface InfoParams {
  port: number;
  frameworkId: string;
  features: readonly string[];
  mesosUser: string;
}

/** The `/v2/info` body. */
export function marathonInfo({ port, frameworkId, features, mesosUser }: InfoParams): JsonObject {
  return {
    name: 'marathon',
    version: '1.10.26',
    buildref: 'local-marathon',
    elected: true,
    leader: `127.0.0.1:${port}`,
    frameworkId,
    marathon_config: {
      access_control_allow_origin: [],
      checkpoint: true,
      decline_offer_duration: 120000,
      env_vars_prefix: '',
      executor: '//cmd',
      failover_timeout: 604800,
      features: [...features],
      framework_name: 'marathon',
      ha: false,
      hostname: '127.0.0.1',
      launch_token: 100,
      launch_token_refresh_interval: 30000,
      leader_proxy_connection_timeout_ms: 5000,
      leader_proxy_read_timeout_ms: 10000,
      local_port_max: 20000,
      local_port_min: 10000,
      master: 'local',
      max_instances_per_offer: 5,
      mesos_bridge_name: 'mesos-bridge',
      mesos_heartbeat_failure_threshold: 5,
      mesos_heartbeat_interval: 15000,
      mesos_leader_ui_url: '',
      mesos_role: '*',
      mesos_user: mesosUser,
      min_revive_offers_interval: 5000,
      offer_matching_timeout: 3000,
      on_elected_prepare_timeout: 180000,
      reconciliation_initial_delay: 15000,
      reconciliation_interval: 600000,
      scale_apps_initial_delay: 15000,
      scale_apps_interval: 300000,
      store_cache: true,
      task_launch_confirm_timeout: 300000,
      task_launch_timeout: 300000,
      task_lost_expunge_initial_delay: 300000,
      task_lost_expunge_interval: 30000,
      task_reservation_timeout: 20000,
      webui_url: `http://127.0.0.1:${port}`,
    },
    zookeeper_config: {
      zk: 'local',
      zk_compression: true,
      zk_compression_threshold: 65536,
      zk_connection_timeout: 10000,
      zk_max_node_size: 1024000,
      zk_max_versions: 50,
      zk_session_timeout: 10000,
      zk_timeout: 10000,
    },
    http_config: { http_port: port, https_port: 8443 },
  };
}
