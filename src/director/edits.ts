// edits.ts — runtime changes without a file edit, as ipvsadm allows (add/edit/delete a service
// or a real server, set a weight, drain). Each edit builds the configuration object of the new
// state and sends it through the same validation as a file, so an invalid change is refused
// with the same messages and the running state stays untouched.
import { parseConfig } from '../config/load.js';
import { configObject } from '../config/to-yaml.js';
import { WlvsError } from '../errors.js';
import { stringify } from 'yaml';
import { splitHostPort } from '../model/address.js';
import type { DirectorSpec } from '../model/spec.js';

type Obj = Record<string, unknown>;

function rebuild(spec: DirectorSpec, services: Obj[], origin: string): DirectorSpec {
  const cfg = configObject(spec);
  return parseConfig(stringify({ director: cfg.director, services }, { lineWidth: 0 }), origin);
}

function servicesOf(spec: DirectorSpec): Obj[] {
  return configObject(spec).services as Obj[];
}

function findService(services: Obj[], name: string): Obj {
  const s = services.find((x) => x.name === name);
  if (!s) throw new WlvsError('WLVS_ERR_NOT_FOUND', `no service named ${JSON.stringify(name)}`);
  return s;
}

function findRealServer(svc: Obj, key: string): Obj {
  const list = svc.real_servers as Obj[];
  // ADDRESS[:PORT] as users write it, IPv6 in brackets when a port follows
  const k = splitHostPort(key);
  const r = k && list.find((x) => x.address === k.address && (k.port === null || x.port === k.port));
  if (!r) throw new WlvsError('WLVS_ERR_NOT_FOUND', `service ${svc.name} has no real server ${key}`);
  return r;
}

export function addService(spec: DirectorSpec, service: Obj): DirectorSpec {
  const services = servicesOf(spec);
  if (services.some((s) => s.name === service.name)) {
    throw new WlvsError('WLVS_ERR_CONFLICT', `a service named ${JSON.stringify(service.name)} exists`);
  }
  return rebuild(spec, [...services, { real_servers: [], ...service }], 'api:add-service');
}

export function editService(spec: DirectorSpec, name: string, patch: Obj): DirectorSpec {
  const services = servicesOf(spec);
  const s = findService(services, name);
  Object.assign(s, patch);
  return rebuild(spec, services, 'api:edit-service');
}

export function deleteService(spec: DirectorSpec, name: string): DirectorSpec {
  const services = servicesOf(spec);
  findService(services, name);
  return rebuild(spec, services.filter((s) => s.name !== name), 'api:delete-service');
}

export function addRealServer(spec: DirectorSpec, service: string, rs: Obj): DirectorSpec {
  const services = servicesOf(spec);
  const s = findService(services, service);
  (s.real_servers as Obj[]).push(rs);
  return rebuild(spec, services, 'api:add-real-server');
}

export function editRealServer(spec: DirectorSpec, service: string, key: string, patch: Obj): DirectorSpec {
  const services = servicesOf(spec);
  Object.assign(findRealServer(findService(services, service), key), patch);
  return rebuild(spec, services, 'api:edit-real-server');
}

export function deleteRealServer(spec: DirectorSpec, service: string, key: string): DirectorSpec {
  const services = servicesOf(spec);
  const s = findService(services, service);
  const r = findRealServer(s, key);
  s.real_servers = (s.real_servers as Obj[]).filter((x) => x !== r);
  return rebuild(spec, services, 'api:delete-real-server');
}

/** drain sets a real server's weight to 0: no new connections, existing ones continue */
export function drainRealServer(spec: DirectorSpec, service: string, key: string): DirectorSpec {
  return editRealServer(spec, service, key, { weight: 0 });
}
