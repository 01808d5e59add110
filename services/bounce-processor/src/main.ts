import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { bounceProcessorService } from './service';

void runService(bounceProcessorService);
