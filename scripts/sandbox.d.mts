export function sandboxEnv(dir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function stageArgs(dir: string, platform: string, stage: string): string[];
export function fwCfgSandbox(dir: string, config: string, extra?: Record<string, string>): { d: string; env: Record<string, string>; cache: string; args: string[] };

export declare const STARTUP_CONFIG: string;
