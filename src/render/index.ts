// The render stage: DesiredState → iptables-restore text, ip and sysctl commands.
export { renderHost } from './host.js';
export { renderRouteArgs, renderRuleArgs, routeShowText, ruleShowText } from './ip.js';
export { renderBalanceChain, renderChainRules, renderChains, renderJump, renderRestorePayload, type JumpMode } from './iptables-restore.js';
export { renderSysctlCommand, sysctlArgKey } from './sysctl.js';
