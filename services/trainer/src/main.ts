#!/usr/bin/env node
import { runService } from '@dynlab/runtime';
import { trainerDefinition } from './trainer-definition';

void runService(trainerDefinition).then((code) => process.exit(code));
