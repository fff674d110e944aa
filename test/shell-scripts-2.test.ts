// Every router-side program: the .sh files under src/ as they ship, and the scripts
// multilink generates from them for real plays (transaction, apply, restore, generation,
// control, monitor, gather, status, boot hook, remove's purge). Each must pass shellcheck (-s sh) and parse
// under dash and BusyBox ash.
import { shellScriptSuite } from './helpers/shell-scripts-suite.js';

shellScriptSuite(1);
