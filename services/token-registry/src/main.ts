import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { tokenRegistryService } from './service';

void runService(tokenRegistryService);
