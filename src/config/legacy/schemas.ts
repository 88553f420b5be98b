// The field lists of spec 1 and of spec 2.0.0–2.4.0, from Ignition's configuration-v2_x docs.
// One 2.x schema covers every minor version: `since` is the minor version that added the field
// (a 2.1 config using `overwrite`, added in 2.2, gets a warning and the field is dropped, as the
// 2.1 parser did).
import type { Field, Shape } from './check.js';

const S: Shape = 'string';
const I: Shape = 'int';
const B: Shape = 'bool';
const f = (shape: Shape, since = 0): Field => ({ shape, since });
const o = (fields: Record<string, Field>): Shape => ({ object: fields });
const l = (shape: Shape): Shape => ({ list: shape });

const httpHeaders = f(l(o({ name: f(S), value: f(S) })), 4);
const verification = f(o({ hash: f(S) }));
const reference = o({ source: f(S), verification, httpHeaders });
const owner = f(o({ id: f(I), name: f(S, 1) }));

const node = {
  filesystem: f(S),
  path: f(S),
  overwrite: f(B, 2),
  user: owner,
  group: owner,
};

const userCreate = o({
  uid: f(I),
  gecos: f(S),
  homeDir: f(S),
  noCreateHome: f(B),
  primaryGroup: f(S),
  groups: f(l(S)),
  noUserGroup: f(B),
  noLogInit: f(B),
  shell: f(S),
  system: f(B, 1),
});

export const SPEC2: Shape = o({
  ignition: f(
    o({
      version: f(S),
      config: f(o({ append: f(l(reference)), replace: f(reference) })),
      timeouts: f(o({ httpResponseHeaders: f(I), httpTotal: f(I) }), 1),
      security: f(o({ tls: f(o({ certificateAuthorities: f(l(reference)) })) }), 2),
      proxy: f(o({ httpProxy: f(S), httpsProxy: f(S), noProxy: f(l(S)) }), 4),
    }),
  ),
  storage: f(
    o({
      disks: f(
        l(
          o({
            device: f(S),
            wipeTable: f(B),
            partitions: f(
              l(
                o({
                  label: f(S),
                  number: f(I),
                  size: f(I),
                  start: f(I),
                  sizeMiB: f(I, 3),
                  startMiB: f(I, 3),
                  typeGuid: f(S),
                  guid: f(S, 1),
                  wipePartitionEntry: f(B, 3),
                  shouldExist: f(B, 3),
                }),
              ),
            ),
          }),
        ),
      ),
      raid: f(l(o({ name: f(S), level: f(S), devices: f(l(S)), spares: f(I), options: f(l(S), 2) }))),
      filesystems: f(
        l(
          o({
            name: f(S),
            mount: f(
              o({
                device: f(S),
                format: f(S),
                create: f(o({ force: f(B), options: f(l(S)) })),
                wipeFilesystem: f(B, 1),
                label: f(S, 1),
                uuid: f(S, 1),
                options: f(l(S), 1),
              }),
            ),
            path: f(S),
          }),
        ),
      ),
      files: f(
        l(
          o({
            ...node,
            append: f(B, 2),
            contents: f(o({ compression: f(S), source: f(S), verification, httpHeaders })),
            mode: f(I),
          }),
        ),
      ),
      directories: f(l(o({ ...node, mode: f(I) })), 1),
      links: f(l(o({ ...node, target: f(S), hard: f(B) })), 1),
    }),
  ),
  systemd: f(
    o({
      units: f(
        l(
          o({
            name: f(S),
            enable: f(B),
            enabled: f(B, 1),
            mask: f(B),
            contents: f(S),
            dropins: f(l(o({ name: f(S), contents: f(S) }))),
          }),
        ),
      ),
    }),
  ),
  networkd: f(
    o({
      units: f(l(o({ name: f(S), contents: f(S), dropins: f(l(o({ name: f(S), contents: f(S) })), 2) }))),
    }),
  ),
  passwd: f(
    o({
      users: f(
        l(
          o({
            name: f(S),
            passwordHash: f(S),
            sshAuthorizedKeys: f(l(S)),
            uid: f(I, 1),
            gecos: f(S, 1),
            homeDir: f(S, 1),
            noCreateHome: f(B, 1),
            primaryGroup: f(S, 1),
            groups: f(l(S), 1),
            noUserGroup: f(B, 1),
            noLogInit: f(B, 1),
            shell: f(S, 1),
            system: f(B, 1),
            create: f(userCreate),
          }),
        ),
      ),
      groups: f(l(o({ name: f(S), gid: f(I), passwordHash: f(S), system: f(B, 2) }))),
    }),
  ),
});

/** Spec 1 (`"ignitionVersion": 1`): files live inside their filesystem, RAID arrays are `arrays`. */
export const SPEC1: Shape = o({
  ignitionVersion: f(I),
  storage: f(
    o({
      disks: f(
        l(
          o({
            device: f(S),
            wipeTable: f(B),
            partitions: f(l(o({ label: f(S), number: f(I), size: f(I), start: f(I), typeGuid: f(S) }))),
          }),
        ),
      ),
      arrays: f(l(o({ name: f(S), level: f(S), devices: f(l(S)), spares: f(I) }))),
      filesystems: f(
        l(
          o({
            device: f(S),
            format: f(S),
            create: f(o({ force: f(B), options: f(l(S)) })),
            files: f(l(o({ path: f(S), contents: f(S), mode: f(I), uid: f(I), gid: f(I) }))),
          }),
        ),
      ),
    }),
  ),
  systemd: f(
    o({
      units: f(
        l(o({ name: f(S), enable: f(B), mask: f(B), contents: f(S), dropins: f(l(o({ name: f(S), contents: f(S) }))) })),
      ),
    }),
  ),
  networkd: f(o({ units: f(l(o({ name: f(S), contents: f(S) }))) })),
  passwd: f(
    o({
      users: f(
        l(
          o({
            name: f(S),
            passwordHash: f(S),
            sshAuthorizedKeys: f(l(S)),
            create: f(userCreate),
          }),
        ),
      ),
      groups: f(l(o({ name: f(S), gid: f(I), passwordHash: f(S), system: f(B) }))),
    }),
  ),
});
