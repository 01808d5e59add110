import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { dispatcherService } from './service';

void runService(dispatcherService);
