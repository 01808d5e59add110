// The example service's entry point (see device-counts.service.ts): the whole of a service's main.ts.
import 'reflect-metadata';
import { runService } from '../../bootstrap/run-service';
import { deviceCountsService } from './device-counts.service';

void runService(deviceCountsService);
