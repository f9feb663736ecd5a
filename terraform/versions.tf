terraform {
  # 1.5: strcontains() in the archive file filter.
  required_version = ">= 1.5"

  required_providers {
    # Current major of the Google provider. Nothing this module uses changed in the
    # 7.0.0 or 8.0.0 upgrade guides, but only 8.x is the supported target.
    # (Direct VPC egress of a 2nd-gen function, service_config.direct_vpc_network_interface,
    # is GA from 7.21.0.)
    google = {
      source  = "hashicorp/google"
      version = ">= 8.0, < 9.0"
    }
    # archive_file with several `source` blocks builds the deploy zips.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}
