#!/usr/bin/env node
// The `multilink` executable.
import { run } from './cli.js';

process.exitCode = await run(process.argv);
