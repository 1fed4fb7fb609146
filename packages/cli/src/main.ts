#!/usr/bin/env node
/** The `dynlab` binary: runs the command line and exits with its code. */
import { runCli } from './run-cli';

void runCli(process.argv.slice(2)).then((code) => process.exit(code));
