/**
 * OpenPTY, OpenLogin and OpenShell, shared by the Machine object and Manager's by-name methods.
 * Order as upstream: machine class, arguments, authorization (the host- actions for `.host`), then
 * the work. Unlike upstream, which asks the container's own systemd over the container's D-Bus
 * (and so fails in containers that do not boot systemd, systemd#12785), the PTY, the login prompt
 * and the shell are made by machined-pty inside the container's namespaces, for every container.
 */
import { readlinkSync } from 'node:fs';
import { Errors, Machine1Actions, type Authorizer, type CallContext } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import { closeAfterReply, openPtyWithHelper, type PtyHelperRequest } from './pty-helper.js';
import { sessionCgroupProcs } from './session-cgroups.js';
import { parseShellRequest, shellPolkitDetails } from './shell-request.js';

export interface PtyDeps {
  authorizer: Authorizer;
  libexecDir: string;
}

type PtyVerb = 'pty' | 'login' | 'shell';

function checkClass(m: Machine, verb: PtyVerb): void {
  if (m.class !== 'container' && !m.isHost) throw Errors.ptyOnlyContainers(verb);
}

/** Whether the leader is in machined's own user namespace, where its root is the host's root. */
function inRootUserNamespace(leader: number): boolean {
  try {
    return readlinkSync(`/proc/${leader}/ns/user`) === readlinkSync('/proc/self/ns/user');
  } catch {
    return false;
  }
}

/**
 * [258] A machine's owner is authorized without polkit; where the container's root is the host's
 * root, that would hand an unprivileged owner the host: only root may.
 */
async function checkRootUserNamespace(ctx: CallContext, m: Machine): Promise<void> {
  if (m.isHost || m.uid === 0) return;
  if ((await ctx.caller()).uid === 0) return;
  if (inRootUserNamespace(m.leader)) throw Errors.shellIntoRootUserNamespace();
}

function request(m: Machine, mode: PtyVerb): PtyHelperRequest {
  if (m.isHost) return { mode };
  return { mode, leader: m.leader, cgroupProcs: mode === 'pty' ? [] : sessionCgroupProcs(m.leader) };
}

async function open(libexecDir: string, req: PtyHelperRequest, what: string): Promise<unknown[]> {
  const pty = await openPtyWithHelper(libexecDir, req, what);
  closeAfterReply(pty.fd);
  return [pty.fd, pty.path];
}

export function ptyHandlers({ authorizer, libexecDir }: PtyDeps) {
  return {
    async OpenPTY(ctx: CallContext, m: Machine): Promise<unknown[]> {
      checkClass(m, 'pty');
      await authorizer.authorize(ctx, m.isHost ? Machine1Actions.hostOpenPty : Machine1Actions.openPty, { machine: m.name }, { ownerUid: m.uid });
      return open(libexecDir, request(m, 'pty'), `Failed to open a PTY in machine ${m.name}`);
    },
    async OpenLogin(ctx: CallContext, m: Machine): Promise<unknown[]> {
      checkClass(m, 'login');
      await authorizer.authorize(ctx, m.isHost ? Machine1Actions.hostLogin : Machine1Actions.login, { machine: m.name, verb: 'login' }, { ownerUid: m.uid });
      await checkRootUserNamespace(ctx, m);
      return open(libexecDir, request(m, 'login'), `Failed to start a login prompt in machine ${m.name}`);
    },
    async OpenShell(ctx: CallContext, m: Machine, user: string, path: string, args: string[], environment: string[]): Promise<unknown[]> {
      checkClass(m, 'shell');
      const req = parseShellRequest(user, path, args, environment);
      await authorizer.authorize(ctx, m.isHost ? Machine1Actions.hostShell : Machine1Actions.shell, shellPolkitDetails(m.name, req), { ownerUid: m.uid });
      await checkRootUserNamespace(ctx, m);
      return open(
        libexecDir,
        { ...request(m, 'shell'), user: req.user, command: req.command, environment: req.environment },
        `Failed to open a shell in machine ${m.name}`,
      );
    },
  };
}
