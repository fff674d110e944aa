// The compile stage: HostConfig → DesiredState, and the pieces a monitor or a weight
// change needs to rebuild the balance chain on its own.
export { compileHost } from './desired-state.js';
export { balanceRules, nthRules, randomCascade, reducedWeights, smoothOrder, stickyRules, STICKY_SECONDS } from './balance.js';
export { compileLinks, eligibleLinks } from './links.js';
export { formatProbability, formatStatisticValue, statisticValue } from './probability.js';
export { accountingInterface, accountingRules } from './accounting.js';
export {
  CHAIN_ACCT,
  CHAIN_BALANCE,
  CHAIN_HELPERS,
  CHAIN_MARK,
  CHAIN_MASQ,
  CHAIN_NEW,
  hex,
  lowestBit,
  markMatch,
  setMark,
  stickyListName,
} from './iptables-text.js';
