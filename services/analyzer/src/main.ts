#!/usr/bin/env node
import { runService } from '@dynlab/runtime';
import { analyzerDefinition } from './analyzer-definition';

void runService(analyzerDefinition).then((code) => process.exit(code));
