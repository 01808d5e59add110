import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { segmentationService } from './service';

void runService(segmentationService);
