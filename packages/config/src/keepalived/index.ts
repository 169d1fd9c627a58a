export {
  readKeepalivedConf,
  checkKeepalivedConf,
  machineInterfaces,
  type KeepalivedReadOptions,
  type KeepalivedCheckOptions,
  type KeepalivedCheckExit,
} from './reader.js';
export {
  checkScriptSecurity,
  resolveUser,
  scriptProgram,
  nodeScriptFs,
  DEFAULT_SCRIPT_PATH,
  type ScriptFs,
  type FileInfo,
  type RunAs,
} from './security.js';
