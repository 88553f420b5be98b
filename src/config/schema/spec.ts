// The shape of every 3.x spec version, written once with the version each field appeared in, and
// turned into one JSON Schema (draft-07) per version. Field lists were checked against the
// published spec docs (configuration-v3_0.md … v3_6.md) and, for 3.0–3.3, against
// ignition-validate 2.14's "Unused key" warnings.
//
// The schemas check structure and JSON types only, like Go's json.Unmarshal does for Ignition;
// value rules (absolute paths, hash syntax, …) live in ../validate/ with Ignition's messages.
// Every field also accepts null, which Ignition reads as "unset".

/** Minor version of a 3.x spec; 7 is 3.7.0-experimental. */
export type Minor = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const SPEC_VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0', '3.4.0', '3.5.0', '3.6.0', '3.7.0-experimental'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

export function minorOf(version: SpecVersion): Minor {
  return SPEC_VERSIONS.indexOf(version) as Minor;
}

/**
 * A JSON type. Lists may carry Go's names for their element type (`[]types.SSHAuthorizedKey`)
 * and for the list type itself (`types.HTTPHeaders`), which appear in type-error messages.
 */
type FieldType = 'string' | 'integer' | 'boolean' | { list: FieldType; goElem?: string; goList?: string } | { ref: string };

interface Field {
  name: string;
  type: FieldType;
  desc: string;
  since?: Minor;
}

const f = (name: string, type: FieldType, desc: string, since?: Minor): Field => ({ name, type, desc, since });
const list = (t: FieldType, goElem?: string, goList?: string): FieldType => ({ list: t, goElem, goList });
const ref = (r: string): FieldType => ({ ref: r });

/** Object types: Go type name (used in type-error messages, as Go's json package names them) and fields. */
const TYPES: Record<string, { goName: string; fields: Field[] }> = {
  config: {
    goName: 'Config',
    fields: [
      f('ignition', ref('ignition'), 'metadata about the configuration itself.'),
      f('kernelArguments', ref('kernelArguments'), 'describes the desired kernel arguments.', 3),
      f('passwd', ref('passwd'), 'describes the desired additions to the passwd database.'),
      f('storage', ref('storage'), "describes the desired state of the system's storage devices."),
      f('systemd', ref('systemd'), 'describes the desired state of the systemd units.'),
    ],
  },
  ignition: {
    goName: 'Ignition',
    fields: [
      f('version', 'string', 'the semantic version number of the spec.'),
      f('config', ref('ignitionConfig'), 'options related to the configuration.'),
      f('timeouts', ref('timeouts'), 'options relating to http timeouts when fetching files over http or https.'),
      f('security', ref('security'), 'options relating to network security.'),
      f('proxy', ref('proxy'), 'options relating to setting an HTTP(S) proxy when fetching resources.', 1),
    ],
  },
  ignitionConfig: {
    goName: 'IgnitionConfig',
    fields: [
      f('merge', list(ref('resource')), 'a list of the configs to be merged to the current config.'),
      f('replace', ref('resource'), 'the config that will replace the current.'),
    ],
  },
  timeouts: {
    goName: 'Timeouts',
    fields: [
      f('httpResponseHeaders', 'integer', "seconds to wait for the server's response headers. 0 means no timeout; default 10."),
      f('httpTotal', 'integer', 'time limit in seconds for the whole operation, retries included. 0 (default) means no limit.'),
    ],
  },
  security: { goName: 'Security', fields: [f('tls', ref('tls'), 'options relating to TLS when fetching resources over https.')] },
  tls: {
    goName: 'TLS',
    fields: [f('certificateAuthorities', list(ref('resource')), 'additional certificate authorities (PEM bundles) for TLS verification.')],
  },
  proxy: {
    goName: 'Proxy',
    fields: [
      f('httpProxy', 'string', 'proxy URL for HTTP (and HTTPS unless httpsProxy is set) requests.'),
      f('httpsProxy', 'string', 'proxy URL for HTTPS requests.'),
      f('noProxy', list('string', 'NoProxyItem'), 'hosts that should not be proxied.'),
    ],
  },
  // The config, CA, file and append resources. In 3.0 only file contents/append had compression.
  resource: {
    goName: 'Resource',
    fields: [
      f('source', 'string', 'the URL of the resource (http, https, tftp, s3, arn, gs or data).'),
      f('compression', 'string', 'the compression of the resource (null or gzip).', 1),
      f('httpHeaders', list(ref('httpHeader'), undefined, 'HTTPHeaders'), 'HTTP headers added to the request (http and https only).', 1),
      f('verification', ref('verification'), 'options related to the verification of the resource.'),
    ],
  },
  fileResource: {
    goName: 'Resource',
    fields: [
      f('source', 'string', 'the URL of the contents (http, https, tftp, s3, arn, gs or data).'),
      f('compression', 'string', 'the compression of the contents (null or gzip).'),
      f('httpHeaders', list(ref('httpHeader'), undefined, 'HTTPHeaders'), 'HTTP headers added to the request (http and https only).', 1),
      f('verification', ref('verification'), 'options related to the verification of the contents.'),
    ],
  },
  httpHeader: {
    goName: 'HTTPHeader',
    fields: [f('name', 'string', 'the header name.'), f('value', 'string', 'the header contents.')],
  },
  verification: {
    goName: 'Verification',
    fields: [f('hash', 'string', 'the hash, in the form <type>-<value> where type is sha512 or sha256 (3.1+).')],
  },
  kernelArguments: {
    goName: 'KernelArguments',
    fields: [
      f('shouldExist', list('string', 'KernelArgument'), 'kernel arguments that should exist.'),
      f('shouldNotExist', list('string', 'KernelArgument'), 'kernel arguments that should not exist.'),
    ],
  },
  passwd: {
    goName: 'Passwd',
    fields: [
      f('users', list(ref('passwdUser')), 'the list of accounts that shall exist.'),
      f('groups', list(ref('passwdGroup')), 'the list of groups to be added.'),
    ],
  },
  passwdUser: {
    goName: 'PasswdUser',
    fields: [
      f('name', 'string', 'the username for the account.'),
      f('passwordHash', 'string', 'the hashed password for the account.'),
      f('sshAuthorizedKeys', list('string', 'SSHAuthorizedKey'), 'a list of SSH keys to be added as an SSH key fragment.'),
      f('uid', 'integer', 'the user ID of the account.'),
      f('gecos', 'string', 'the GECOS field of the account.'),
      f('homeDir', 'string', 'the home directory of the account.'),
      f('noCreateHome', 'boolean', "whether or not to create the user's home directory."),
      f('primaryGroup', 'string', 'the name of the primary group of the account.'),
      f('groups', list('string', 'Group'), 'the list of supplementary groups of the account.'),
      f('noUserGroup', 'boolean', 'whether or not to create a group with the same name as the user.'),
      f('noLogInit', 'boolean', 'whether or not to add the user to the lastlog and faillog databases.'),
      f('shell', 'string', "the login shell of the new account."),
      f('system', 'boolean', 'whether or not this account should be a system account.'),
      f('shouldExist', 'boolean', 'whether or not the user should exist; false deletes it.', 2),
    ],
  },
  passwdGroup: {
    goName: 'PasswdGroup',
    fields: [
      f('name', 'string', 'the name of the group.'),
      f('gid', 'integer', 'the group ID of the new group.'),
      f('passwordHash', 'string', 'the hashed password of the new group.'),
      f('system', 'boolean', 'whether or not the group should be a system group.'),
      f('shouldExist', 'boolean', 'whether or not the group should exist; false deletes it.', 2),
    ],
  },
  storage: {
    goName: 'Storage',
    fields: [
      f('disks', list(ref('disk')), 'the list of disks to be configured. Every entry must have a unique device.'),
      f('raid', list(ref('raid')), 'the list of RAID arrays to be configured. Every entry must have a unique name.'),
      f('filesystems', list(ref('filesystem')), 'the list of filesystems to be configured. Every entry must have a unique device.'),
      f('files', list(ref('file')), 'the list of files to be written. Every file, directory and link must have a unique path.'),
      f('directories', list(ref('directory')), 'the list of directories to be created.'),
      f('links', list(ref('link')), 'the list of links to be created.'),
      f('luks', list(ref('luks')), 'the list of LUKS devices to be created. Every entry must have a unique name.', 2),
    ],
  },
  disk: {
    goName: 'Disk',
    fields: [
      f('device', 'string', 'the absolute path to the device.'),
      f('wipeTable', 'boolean', 'whether or not the partition tables shall be wiped.'),
      f('partitions', list(ref('partition')), 'the list of partitions and their configuration for this disk.'),
    ],
  },
  partition: {
    goName: 'Partition',
    fields: [
      f('label', 'string', 'the PARTLABEL for the partition.'),
      f('number', 'integer', 'the partition number (one-indexed); 0 means the next available slot.'),
      f('sizeMiB', 'integer', 'the size of the partition in MiB; 0 means as large as possible.'),
      f('startMiB', 'integer', 'the start of the partition in MiB; 0 means the start of the largest free block.'),
      f('typeGuid', 'string', 'the GPT partition type GUID.'),
      f('guid', 'string', 'the GPT unique partition GUID.'),
      f('wipePartitionEntry', 'boolean', 'if true, clobber an existing partition that does not match the config.'),
      f('shouldExist', 'boolean', 'whether or not the partition with the specified number should exist.'),
      f('resize', 'boolean', 'whether or not the existing partition should be resized.', 2),
    ],
  },
  raid: {
    goName: 'Raid',
    fields: [
      f('name', 'string', 'the name to use for the resulting md device.'),
      f('level', 'string', 'the redundancy level of the array (e.g. linear, raid1, raid5).'),
      f('devices', list('string', 'Device'), 'the list of devices (absolute paths) in the array.'),
      f('spares', 'integer', 'the number of spares (if applicable) in the array.'),
      f('options', list('string', 'RaidOption'), 'any additional options to be passed to mdadm.'),
    ],
  },
  filesystem: {
    goName: 'Filesystem',
    fields: [
      f('device', 'string', 'the absolute path to the device.'),
      f('format', 'string', 'the filesystem format (ext4, btrfs, xfs, vfat, swap, or none).'),
      f('path', 'string', 'the mount-point of the filesystem while Ignition is running, relative to the root.'),
      f('wipeFilesystem', 'boolean', 'whether or not to wipe the device before filesystem creation.'),
      f('label', 'string', 'the label of the filesystem.'),
      f('uuid', 'string', 'the uuid of the filesystem.'),
      f('options', list('string', 'FilesystemOption'), 'any additional options to be passed to the mkfs utility.'),
      f('mountOptions', list('string', 'MountOption'), 'any special options to be passed to the mount command.', 1),
    ],
  },
  nodeUser: {
    goName: 'NodeUser',
    fields: [f('id', 'integer', 'the user ID of the owner.'), f('name', 'string', 'the user name of the owner.')],
  },
  nodeGroup: {
    goName: 'NodeGroup',
    fields: [f('id', 'integer', 'the group ID of the group.'), f('name', 'string', 'the group name of the group.')],
  },
  file: {
    goName: 'File',
    fields: [
      f('path', 'string', 'the absolute path to the file.'),
      f('overwrite', 'boolean', 'whether to delete preexisting nodes at the path. Defaults to false.'),
      f('contents', ref('fileResource'), 'options related to the contents of the file.'),
      f('append', list(ref('fileResource')), 'list of fragments to be appended to the file.'),
      f('mode', 'integer', "the file's permission mode, as a decimal number (0644 -> 420). Defaults to 0644."),
      f('user', ref('nodeUser'), "specifies the file's owner."),
      f('group', ref('nodeGroup'), "specifies the file's group."),
    ],
  },
  directory: {
    goName: 'Directory',
    fields: [
      f('path', 'string', 'the absolute path to the directory.'),
      f('overwrite', 'boolean', 'whether to delete preexisting nodes at the path. Defaults to false.'),
      f('mode', 'integer', "the directory's permission mode, as a decimal number (0755 -> 493). Defaults to 0755."),
      f('user', ref('nodeUser'), "specifies the directory's owner."),
      f('group', ref('nodeGroup'), "specifies the directory's group."),
    ],
  },
  link: {
    goName: 'Link',
    fields: [
      f('path', 'string', 'the absolute path to the link.'),
      f('overwrite', 'boolean', 'whether to delete preexisting nodes at the path. Defaults to false.'),
      f('user', ref('nodeUser'), "specifies the symbolic link's owner."),
      f('group', ref('nodeGroup'), "specifies the symbolic link's group."),
      f('target', 'string', 'the target path of the link.'),
      f('hard', 'boolean', 'a symbolic link is created if this is false, a hard one if this is true.'),
    ],
  },
  luks: {
    goName: 'Luks',
    fields: [
      f('name', 'string', 'the name of the luks device.'),
      f('device', 'string', 'the absolute path to the device.'),
      f('keyFile', ref('resource'), 'options related to the contents of the key file.'),
      f('label', 'string', 'the label of the luks device.'),
      f('uuid', 'string', 'the uuid of the luks device.'),
      f('options', list('string', 'LuksOption'), 'any additional options to be passed to cryptsetup luksFormat.'),
      f('discard', 'boolean', 'whether to issue discard commands to the underlying block device when blocks are freed.', 4),
      f('openOptions', list('string', 'OpenOption'), 'any additional options to be passed to cryptsetup luksOpen.', 4),
      f('wipeVolume', 'boolean', 'whether or not to wipe the device before volume creation.'),
      f('clevis', ref('clevis'), 'describes the clevis configuration for the luks device.'),
      f('cex', ref('cex'), 'describes the IBM Crypto Express (CEX) card configuration for the luks device.', 5),
    ],
  },
  clevis: {
    goName: 'Clevis',
    fields: [
      f('tang', list(ref('tang')), 'describes a tang server. Every server must have a unique url.'),
      f('tpm2', 'boolean', 'whether or not to use a tpm2 device.'),
      f('threshold', 'integer', 'sets the minimum number of pieces required to decrypt the device. Default is 1.'),
      f('custom', ref('clevisCustom'), 'overrides the clevis configuration.'),
    ],
  },
  tang: {
    goName: 'Tang',
    fields: [
      f('url', 'string', 'url of the tang server.'),
      f('thumbprint', 'string', 'thumbprint of a trusted signing key.'),
      f('advertisement', 'string', 'the advertisement JSON; fetched from the server when not given.', 4),
    ],
  },
  clevisCustom: {
    goName: 'ClevisCustom',
    fields: [
      f('pin', 'string', 'the clevis pin.'),
      f('config', 'string', 'the clevis configuration JSON.'),
      f('needsNetwork', 'boolean', 'whether or not the device requires networking.'),
    ],
  },
  cex: { goName: 'Cex', fields: [f('enabled', 'boolean', 'whether or not to use a CEX secure key to encrypt the luks device.')] },
  systemd: { goName: 'Systemd', fields: [f('units', list(ref('unit')), 'the list of systemd units.')] },
  unit: {
    goName: 'Unit',
    fields: [
      f('name', 'string', 'the name of the unit. This must be suffixed with a valid unit type (e.g. "thing.service").'),
      f('enabled', 'boolean', 'whether or not the service shall be enabled.'),
      f('mask', 'boolean', 'whether or not the service shall be masked.'),
      f('contents', 'string', 'the contents of the unit.'),
      f('dropins', list(ref('dropin')), 'the list of drop-ins for the unit. Every drop-in must have a unique name.'),
    ],
  },
  dropin: {
    goName: 'Dropin',
    fields: [f('name', 'string', 'the name of the drop-in. This must be suffixed with ".conf".'), f('contents', 'string', 'the contents of the drop-in.')],
  },
};

export type JsonSchema = Record<string, unknown>;

function typeSchema(t: FieldType): JsonSchema {
  if (t === 'string' || t === 'integer' || t === 'boolean') return { type: [t, 'null'] };
  if ('list' in t) return { type: ['array', 'null'], items: typeSchema(t.list) };
  // The definition itself admits null (see buildSchema): a bare $ref keeps draft-07 readers happy.
  return { $ref: `#/definitions/${t.ref}` };
}

/** The JSON Schema (draft-07) of one spec version. */
export function buildSchema(version: SpecVersion): JsonSchema {
  const minor = minorOf(version);
  const definitions: Record<string, JsonSchema> = {};
  for (const [name, def] of Object.entries(TYPES)) {
    const properties: Record<string, JsonSchema> = {};
    for (const field of def.fields) {
      if ((field.since ?? 0) > minor) continue;
      properties[field.name] = { description: field.desc, ...typeSchema(field.type) };
    }
    definitions[name] = { title: def.goName, type: ['object', 'null'], properties, additionalProperties: false };
  }
  // Keep only the definitions reachable in this version (3.0 has no luks, for example).
  const reachable = new Set<string>();
  const visit = (name: string) => {
    if (reachable.has(name)) return;
    reachable.add(name);
    const json = JSON.stringify(definitions[name]);
    for (const m of json.matchAll(/#\/definitions\/(\w+)/g)) visit(m[1]);
  };
  visit('config');
  const root = definitions.config;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://kindling.invalid/schema/ignition-${version}.json`,
    title: `Ignition config, spec ${version}`,
    description: 'Structure and JSON types of an Ignition config. Unknown keys are reported as warnings by Kindling and Ignition.',
    type: 'object',
    properties: root.properties,
    required: ['ignition'],
    additionalProperties: false,
    definitions: Object.fromEntries([...reachable].filter((n) => n !== 'config').sort().map((n) => [n, definitions[n]])),
  };
}

/** Go's type name for a schema location, for "cannot unmarshal X into … of type T" messages. */
export function goTypeName(t: FieldType): string {
  if (t === 'string' || t === 'boolean') return t === 'boolean' ? 'bool' : 'string';
  if (t === 'integer') return 'int';
  if ('list' in t) return t.goList ? 'types.' + t.goList : '[]' + goElemName(t);
  return 'types.' + TYPES[t.ref].goName;
}

/** Go's name of a list's element type. */
export function goElemName(t: { list: FieldType; goElem?: string }): string {
  return t.goElem ? 'types.' + t.goElem : goTypeName(t.list);
}

export interface FieldInfo {
  name: string;
  type: FieldType;
}

/** Fields of an object type in one version: what the decoder matches keys against. */
export function fieldsOf(typeName: string, minor: Minor): FieldInfo[] {
  return TYPES[typeName].fields.filter((fl) => (fl.since ?? 0) <= minor);
}

export function goNameOf(typeName: string): string {
  return TYPES[typeName].goName;
}

export type { FieldType };

/**
 * The JSON pointers where a decoded document's JSON types break the spec, as a draft-07 validator
 * of buildSchema() reports "type" errors (test/config/type-check.test.ts compares the two with ajv
 * on generated documents): every field admits null; the root must be an object; a value of the
 * wrong type is not looked into. The fields of the newest version serve every version, since the
 * decoder has already dropped the keys a version does not know and no field changed its type.
 * Pointers come depth first, in field order, list entries by index.
 */
export function typeMismatches(doc: unknown): string[] {
  const found: string[] = [];
  const check = (value: unknown, type: FieldType, pointer: string): void => {
    if (value === null) return;
    if (type === 'string' || type === 'boolean') {
      if (typeof value !== type) found.push(pointer);
    } else if (type === 'integer') {
      if (!Number.isInteger(value)) found.push(pointer);
    } else if ('list' in type) {
      if (!Array.isArray(value)) found.push(pointer);
      else for (let i = 0; i < value.length; i++) check(value[i], type.list, `${pointer}/${i}`);
    } else if (typeof value !== 'object' || Array.isArray(value)) {
      found.push(pointer);
    } else {
      // Field names are plain words: nothing to escape in a pointer.
      for (const field of TYPES[type.ref].fields) {
        const v = (value as Record<string, unknown>)[field.name];
        if (v !== undefined) check(v, field.type, `${pointer}/${field.name}`);
      }
    }
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [''];
  check(doc, { ref: 'config' }, '');
  return found;
}
