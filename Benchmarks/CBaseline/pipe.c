// The consume -> produce pipe written directly against librdkafka: the baseline the
// Swift wrapper is measured against. Same settings as the Swift side (see
// Benchmarks/StreamsBench/ClientPipeBenchmark.swift).
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CBaseline.h"
#include "timing.h"

static void count_failures(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    if (message->err) (*(long long *)opaque)++;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, char *error, size_t error_size) {
    return rd_kafka_conf_set(conf, key, value, error, error_size) == RD_KAFKA_CONF_OK ? 0 : -1;
}

int cbaseline_pipe(const char *bootstrap, const char *in_topic, int partitions, const char *out_topic,
                   long long expected, const char *linger_ms, int idempotent, const char *queued_min_messages,
                   cbaseline_result *result, char *error, size_t error_size) {
    long long failures = 0;
    char group[64];
    snprintf(group, sizeof group, "c-pipe-%ld", (long)random());

    rd_kafka_conf_t *consumer_conf = rd_kafka_conf_new();
    if (set(consumer_conf, "bootstrap.servers", bootstrap, error, error_size) ||
        set(consumer_conf, "group.id", group, error, error_size) ||
        set(consumer_conf, "enable.auto.commit", "false", error, error_size) ||
        set(consumer_conf, "fetch.wait.max.ms", "10", error, error_size) ||
        (queued_min_messages && set(consumer_conf, "queued.min.messages", queued_min_messages, error, error_size))) {
        rd_kafka_conf_destroy(consumer_conf);
        return -1;
    }
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, error, error_size);
    if (!consumer) return -1;
    rd_kafka_poll_set_consumer(consumer);

    rd_kafka_conf_t *producer_conf = rd_kafka_conf_new();
    if (set(producer_conf, "bootstrap.servers", bootstrap, error, error_size) ||
        set(producer_conf, "linger.ms", linger_ms, error, error_size) ||
        set(producer_conf, "enable.idempotence", idempotent ? "true" : "false", error, error_size)) {
        rd_kafka_conf_destroy(producer_conf);
        rd_kafka_destroy(consumer);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(producer_conf, count_failures);
    rd_kafka_conf_set_opaque(producer_conf, &failures);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, producer_conf, error, error_size);
    if (!producer) {
        rd_kafka_destroy(consumer);
        return -1;
    }
    rd_kafka_topic_t *output = rd_kafka_topic_new(producer, out_topic, NULL);

    rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(assignment, in_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);

    double start = now_seconds();
    long long piped = 0;
    long long polls = 0;
    // The time limit is checked every 1000 polls: reading the clock per record would cost
    // the baseline a few percent.
    while (piped < expected && (++polls % 1000 != 0 || now_seconds() - start < 300)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (!message) continue;
        if (message->err) {
            rd_kafka_message_destroy(message);
            continue;
        }
        while (rd_kafka_produce(output, message->partition, RD_KAFKA_MSG_F_COPY, message->payload, message->len,
                                message->key, message->key_len, NULL) == -1) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                failures++;
                break;
            }
            rd_kafka_poll(producer, 10);
        }
        rd_kafka_message_destroy(message);
        if (++piped % 1000 == 0) rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 60000);
    result->seconds = now_seconds() - start;
    result->records = piped;
    result->failures = failures + rd_kafka_outq_len(producer);

    rd_kafka_topic_destroy(output);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    return 0;
}
