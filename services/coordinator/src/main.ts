#!/usr/bin/env node
import { runService } from '@dynlab/runtime';
import { coordinatorDefinition } from './coordinator-definition';

void runService(coordinatorDefinition).then((code) => process.exit(code));
